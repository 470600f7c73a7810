//! Reading webhook headers, where a forge may send one value under several names.

use super::WebhookError;
use http::HeaderMap;

/// The first header of `names` that is present, with its name. A value that is not
/// visible ASCII is an error naming the header, not a silent miss.
pub(super) fn first<'a>(
    headers: &'a HeaderMap,
    names: &[&'static str],
) -> Result<Option<(&'static str, &'a str)>, WebhookError> {
    for &name in names {
        if let Some(value) = headers.get(name) {
            let text = value.to_str().map_err(|_| WebhookError::MalformedHeader {
                header: name,
                reason: "not visible ASCII".to_string(),
            })?;
            return Ok(Some((name, text)));
        }
    }
    Ok(None)
}

/// The header carrying a delivery's signature or token, from the first of `names` that
/// is present. Its errors are the authentication ones (the server answers 401); a
/// missing header is reported under the first name.
pub(super) fn signature<'a>(
    headers: &'a HeaderMap,
    names: &[&'static str],
) -> Result<(&'static str, &'a str), WebhookError> {
    match first(headers, names) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(WebhookError::MissingSignature {
            header: names.first().copied().unwrap_or("signature"),
        }),
        Err(WebhookError::MalformedHeader { header, reason }) => {
            Err(WebhookError::MalformedSignature { header, reason })
        }
        Err(other) => Err(other),
    }
}
