//! The static files, compiled into the binary: no build step, no CDN, nothing to
//! install next to `gantry`.

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// The bytes and `Content-Type` of a static file, by its path under `/static/`
/// (`"app.css"`; a leading `/static/` is accepted too). `None` for anything else.
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let name = path.strip_prefix("/static/").unwrap_or(path);
    match name {
        "app.css" => Some((CSS.as_bytes(), "text/css; charset=utf-8")),
        "app.js" => Some((JS.as_bytes(), "text/javascript; charset=utf-8")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        let (css, ty) = asset("app.css").unwrap();
        assert!(ty.starts_with("text/css") && !css.is_empty());
        let (js, ty) = asset("/static/app.js").unwrap();
        assert!(ty.starts_with("text/javascript") && js.starts_with(b"//"));
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("app.css.map").is_none());
        assert!(asset("").is_none());
    }
}
