//! Headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`):
//! the driver process (killed with its browsers when the guard drops), a WebDriver
//! session, and the waiting and screenshot helpers the browser test uses.

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

/// Finds a program on PATH, else at `/usr/bin/<name>`; fails naming the Debian package.
fn find_program(name: &str, package: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/bin").join(name)).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "`{name}` was not found on PATH or in /usr/bin: the browser test needs Debian's \
                 package `{package}` (apt-get install -y chromium chromium-driver)"
            )
        })
}

/// A running chromedriver in its own process group; dropping it kills the group, so a
/// failed test leaves no browser behind.
#[derive(Debug)]
pub struct ChromeDriver {
    child: Child,
    pub url: String,
    /// The browser's profile directory, removed with the guard.
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    pub async fn start() -> ChromeDriver {
        // Both are checked up front so a missing browser is not reported as a driver error.
        find_program("chromium", "chromium");
        let driver = find_program("chromedriver", "chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port for chromedriver")
            .port();
        let profile = tempfile::tempdir().unwrap();
        let log = profile.path().join("chromedriver.log");
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let mut guard = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ready = http
                .get(format!("{}/status", guard.url))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return guard;
            }
            if let Ok(Some(status)) = guard.child.try_wait() {
                panic!(
                    "chromedriver exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {} within 15 s: {}",
                guard.url,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new session of headless Chromium, 1280×900.
    pub async fn session(&self) -> Browser {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-extensions",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    format!("--user-data-dir={}", self.profile.path().join("profile").display()),
                ]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "starting a Chromium session through chromedriver failed: {e}\n{}",
                    std::fs::read_to_string(self.profile.path().join("chromedriver.log"))
                        .unwrap_or_default()
                )
            });
        let browser = Browser { client };
        // `--window-size` sizes the window, and headless Chromium's window is taller than
        // its viewport: make the viewport itself 1280×900.
        browser.set_viewport(WIDTH, HEIGHT).await;
        browser
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started.
        let pgid = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session with the few helpers the test needs.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Runs a script (`return …;`) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running {script:?}: {e}"))
    }

    pub async fn count(&self, selector: &str) -> u64 {
        let script = format!(
            "return document.querySelectorAll({}).length;",
            json!(selector)
        );
        self.js(&script).await.as_u64().unwrap_or(0)
    }

    /// An attribute of the first element matching `selector`, or None.
    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        let script = format!(
            "var e = document.querySelector({}); return e ? e.getAttribute({}) : null;",
            json!(selector),
            json!(name)
        );
        self.js(&script).await.as_str().map(str::to_string)
    }

    pub async fn text(&self, selector: &str) -> String {
        let script = format!(
            "var e = document.querySelector({}); return e ? e.textContent : '';",
            json!(selector)
        );
        self.js(&script).await.as_str().unwrap_or("").to_string()
    }

    pub async fn click(&self, selector: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("finding {selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    pub async fn type_into(&self, selector: &str, text: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("finding {selector}: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    pub async fn displayed(&self, selector: &str) -> bool {
        match self.client.find(Locator::Css(selector)).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Resizes the window so that the page's viewport is `width`×`height`.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let frame = self
            .js("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];")
            .await;
        let extra = |i: usize| {
            frame[i]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        };
        self.client
            .set_window_size(width + extra(0), height + extra(1))
            .await
            .unwrap();
        // Let layout settle at the new size (one frame is enough; two to be safe).
        self.js_async_frames(2).await;
    }

    /// A screenshot of the whole page at 1280 wide: the viewport is made as tall as the
    /// page for the shot, then put back.
    pub async fn save_full_page(&self, file: &Path) {
        let height = self
            .js("return Math.ceil(document.documentElement.scrollHeight);")
            .await
            .as_u64()
            .unwrap_or(u64::from(HEIGHT));
        let height = u32::try_from(height).unwrap_or(HEIGHT).clamp(HEIGHT, 4000);
        self.set_viewport(WIDTH, height).await;
        let png = self.client.screenshot().await.unwrap();
        self.set_viewport(WIDTH, HEIGHT).await;
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).unwrap();
    }

    async fn js_async_frames(&self, frames: u32) {
        let script = format!(
            "var done = arguments[arguments.length - 1], n = {frames};\
             (function step() {{ if (n-- <= 0) done(); else requestAnimationFrame(step); }})();"
        );
        self.client
            .execute_async(&script, Vec::new())
            .await
            .unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Polls `check` every 100 ms until it returns Some, failing after `timeout` with `what`
/// and the last value seen.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what} (last seen: {last})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
