//! The nginx site of a blue-green or canary service: nginx listens on the service's
//! `port` and proxies to the live slot(s) on loopback, with weights, logging each
//! request's upstream, its status and response time for the canary analysis. Pure.

use std::fmt::Write;

/// One upstream server: a slot's port and its share of the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    pub port: u16,
    pub weight: u32,
}

/// Where nginx logs the service's requests, in the `gantry_<service>` format:
/// `$msec|$upstream_addr|$upstream_status|$upstream_response_time` (the last three are
/// lists when nginx tried more than one upstream).
pub fn access_log(service: &str) -> String {
    format!("/var/log/nginx/gantry-{service}.log")
}

/// The site for `service` listening on `listen`. Only servers with a weight above zero
/// are written; `note` goes in the header comment (which slot, which release).
pub fn site(service: &str, listen: u16, upstreams: &[Upstream], note: &str) -> String {
    let name = format!("gantry_{}", service.replace('-', "_"));
    let mut s = String::new();
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        s,
        "# Written by Gantry for service {service}: {note}. Replaced on every deploy."
    );
    let _ = writeln!(s, "upstream {name} {{");
    for u in upstreams.iter().filter(|u| u.weight > 0) {
        let _ = writeln!(s, "    server 127.0.0.1:{} weight={};", u.port, u.weight);
    }
    // Connections to the slots are reused; a reload starts new workers and lets the old
    // ones finish the requests they hold (graceful).
    s.push_str("    keepalive 32;\n}\n");
    let _ = writeln!(
        s,
        "log_format {name} '$msec|$upstream_addr|$upstream_status|$upstream_response_time';"
    );
    let _ = writeln!(s, "server {{\n    listen {listen};");
    let _ = writeln!(s, "    access_log {} {name};", access_log(service));
    let _ = writeln!(s, "    location / {{\n        proxy_pass http://{name};");
    s.push_str(
        "        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_proxies_to_the_weighted_live_slots() {
        let conf = site(
            "web-api",
            8080,
            &[
                Upstream {
                    port: 8081,
                    weight: 90,
                },
                Upstream {
                    port: 8082,
                    weight: 10,
                },
                Upstream { port: 9, weight: 0 },
            ],
            "live slot green (v2)",
        );
        assert!(conf.starts_with("# Written by Gantry for service web-api: live slot green (v2)."));
        assert!(conf.contains("upstream gantry_web_api {\n    server 127.0.0.1:8081 weight=90;\n    server 127.0.0.1:8082 weight=10;\n    keepalive 32;\n}"), "{conf}");
        assert!(!conf.contains(":9 "), "{conf}");
        assert!(
            conf.contains("listen 8080;") && conf.contains("proxy_pass http://gantry_web_api;")
        );
    }
}
