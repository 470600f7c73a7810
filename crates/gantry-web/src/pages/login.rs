//! The sign-in page: `POST /login` with `username`, `password`, `csrf` and `next`.

use askama::Template;

use crate::layout::{Frame, Layout};
use crate::render::render;

/// What the login form shows again after a failed attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginForm<'a> {
    /// Pre-filled after a failed attempt (never the password).
    pub username: &'a str,
    /// Where to go after signing in (a local path the server checked).
    pub next: Option<&'a str>,
    /// "Wrong username or password."
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    frame: Frame<'a>,
    form: &'a LoginForm<'a>,
}

/// The sign-in page.
pub fn login_page(layout: &Layout, form: &LoginForm<'_>) -> String {
    render(&LoginPage {
        frame: Frame {
            layout,
            title: "Sign in".into(),
            nav: "",
        },
        form,
    })
}
