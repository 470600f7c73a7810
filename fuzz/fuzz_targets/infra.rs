//! Fuzzes the resource file parser (`infra/*.yml`): arbitrary bytes (read as lossy UTF-8)
//! must never make `parse` panic, a file must come back exactly when there is no error,
//! and rendering the diagnostics must not panic either. The same text as a `template`
//! must neither panic the syntax check nor the rendering (strict undefined, vars, facts,
//! host and secrets as `gantry infra` gives them). The same text as a crontab must
//! survive the `cron` resource's edit, which settles after one application.
#![no_main]

use gantry_infra::resource::{FileContent, TemplateSpec, edit_crontab, syntax_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let parsed = gantry_infra::parse::parse("infra/x.yml", &source);
    let has_errors = parsed.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(parsed.file.is_some(), !has_errors);
    let file = gantry_core::SourceFile::new("infra/x.yml", source.to_string());
    for d in &parsed.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
        let _ = d.render(Some(&file), false);
    }

    let template = TemplateSpec {
        path: "/etc/x".into(),
        template: FileContent::Inline(source.to_string()),
        mode: None,
        owner: None,
        group: None,
    };
    let context = serde_json::json!({
        "port": 80,
        "list": [1, 2, 3],
        "facts": { "os_id": "debian", "cpus": "4" },
        "host": { "name": "web1", "address": "10.0.0.1", "groups": ["web"] },
        "secrets": { "db": "s3cret" },
    });
    let rendered = template.render("infra/x.yml:3", &context);
    if syntax_error(&source).is_some() {
        assert!(rendered.is_err(), "a template that does not parse cannot render");
    }

    let (marker, block) = ("# gantry: x", "# gantry: x\nA=1\n0 3 * * * /bin/true");
    let once = edit_crontab(&source, marker, Some(block));
    assert_eq!(edit_crontab(&once, marker, Some(block)), once);
    let removed = edit_crontab(&once, marker, None);
    assert!(!removed.split('\n').any(|l| l == marker));
});
