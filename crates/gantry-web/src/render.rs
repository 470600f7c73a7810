//! Turning a template into a page without ever panicking: a template error (which
//! askama's compile-time checks make rare: a failing `Display`, say) becomes a plain
//! built-in error page.

use askama::Template;

/// Renders `page`, or the fallback error page if rendering fails.
pub(crate) fn render(page: &impl Template) -> String {
    match page.render() {
        Ok(html) => html,
        Err(err) => fallback(500, &format!("This page could not be rendered: {err}")),
    }
}

/// A page that needs no template, so it renders even when templates do not.
pub(crate) fn fallback(status: u16, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Error {status} · Gantry</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body><main class=\"page\"><h1>Error {status}</h1><p>{msg}</p>\
         <p><a href=\"/\">Back to the dashboard</a></p></main></body></html>",
        css = crate::urls::CSS,
        msg = escape(message),
    )
}

/// HTML-escapes text for the fallback page (templates escape on their own).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_escapes() {
        let html = fallback(500, "<b>\"x\" & 'y'</b>");
        assert!(html.contains("&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"));
        assert!(!html.contains("<b>"));
    }
}
