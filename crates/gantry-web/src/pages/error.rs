//! The error page for 403, 404, 500 and friends: what went wrong and the way home.

use askama::Template;

use crate::layout::{Frame, Layout};
use crate::render::render;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame<'a>,
    status: u16,
    heading: &'static str,
    message: &'a str,
}

fn heading(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Sign in required",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        500..=599 => "Something went wrong",
        _ => "Error",
    }
}

/// An error page; `message` is shown as text (escaped).
pub fn error_page(layout: &Layout, status: u16, message: &str) -> String {
    render(&ErrorPage {
        frame: Frame {
            layout,
            title: format!("{status} {}", heading(status)),
            nav: "",
        },
        status,
        heading: heading(status),
        message,
    })
}
