//! Browser sign-in and form protection over plain HTTP (the Chromium test covers the
//! pages themselves): redirects to /login, the double-submit check on the login form,
//! wrong passwords, session cookies' attributes, no open redirect after sign-in, and
//! the CSRF token every state-changing form must carry.

use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};

use crate::git_repo::TestRepo;
use crate::server::TestServer;

pub(crate) fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

pub(crate) fn cookie_value(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// The value of the first hidden `csrf` input of a page.
pub(crate) fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// Signs in as the bootstrap admin user; returns the session's `cookie` header value.
pub(crate) async fn sign_in(server: &TestServer) -> String {
    let password = server
        .started
        .as_ref()
        .unwrap()
        .bootstrap
        .as_ref()
        .unwrap()
        .password
        .expose()
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/login?next=/", server.base))
        .send()
        .await
        .unwrap();
    let token = cookie_value(&set_cookie(&r, "gantry_login_csrf").unwrap());
    let r = http
        .post(format!("{}/login", server.base))
        .header("cookie", format!("gantry_login_csrf={token}"))
        .form(&[
            ("username", "admin"),
            ("password", password.as_str()),
            ("csrf", token.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    format!(
        "gantry_session={}",
        cookie_value(&set_cookie(&r, "gantry_session").unwrap())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_and_csrf() {
    let repo = TestRepo::new();
    repo.commit(
        &[(
            ".gantry/pipelines/ci.yml",
            Some("on: { manual: {} }\njobs:\n  wait:\n    steps: ['sleep 30']\n"),
        )],
        "ui",
    );
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        format!(
            "projects:\n  app: {{ path: {}, poll: off }}\n",
            repo.work.display()
        ),
    )
    .unwrap();
    let server = TestServer::start(ws.path(), None).await;
    let password = server
        .started
        .as_ref()
        .unwrap()
        .bootstrap
        .as_ref()
        .unwrap()
        .password
        .expose()
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", server.base);

    // Signed out: pages redirect to the login form, keeping where to go back to.
    let r = http.get(url("/runs/1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fruns%2F1");

    // The login form sets a token cookie that the form must echo.
    let r = http.get(url("/login?next=/")).send().await.unwrap();
    let login_cookie = cookie_value(&set_cookie(&r, "gantry_login_csrf").unwrap());
    let html = r.text().await.unwrap();
    assert_eq!(csrf_field(&html), login_cookie);

    let login = |user: &str, pass: &str, csrf: &str, cookie: &str, next: &str| {
        http.post(url("/login"))
            .header("cookie", format!("gantry_login_csrf={cookie}"))
            .form(&[
                ("username", user),
                ("password", pass),
                ("csrf", csrf),
                ("next", next),
            ])
            .send()
    };
    let r = login("admin", "wrong", &login_cookie, &login_cookie, "/")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "gantry_session").is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    let r = login("admin", &password, "forged", &login_cookie, "/")
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a login form from elsewhere is refused"
    );
    assert!(set_cookie(&r, "gantry_session").is_none());

    // Signing in: a session cookie that scripts cannot read; no redirect off-site.
    let r = login(
        "admin",
        &password,
        &login_cookie,
        &login_cookie,
        "//evil.example/",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let session_header = set_cookie(&r, "gantry_session").unwrap();
    assert!(
        session_header.contains("HttpOnly") && session_header.contains("SameSite=Lax"),
        "{session_header}"
    );
    let session = format!("gantry_session={}", cookie_value(&session_header));

    let page = http
        .get(url("/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("admin"));
    let csrf = csrf_field(&html);

    // A state-changing form without the session's token is refused and changes nothing.
    let r = http
        .post(url("/projects/app/pipelines/ci/trigger"))
        .header("cookie", &session)
        .form(&[("csrf", "nope"), ("branch", "main")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, runs) = server.get("/api/v1/runs").await;
    assert!(runs["runs"].as_array().unwrap().is_empty(), "{runs}");
    // With it, the run starts and the browser is sent to its page; then cancel it.
    let r = http
        .post(url("/projects/app/pipelines/ci/trigger"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("branch", "main")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/runs/"), "{location}");
    let r = http
        .post(url(&format!("{location}/cancel")))
        .header("cookie", &session)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(url(&format!("{location}/cancel")))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Signing out ends the session on the server, not just in the browser.
    let r = http
        .post(url("/logout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = http
        .get(url("/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
    server.stop().await;
}
