//! Reading and writing the account cookies. Every one is `HttpOnly`, `SameSite=Lax`, `Path=/`,
//! without `Domain`, and `Secure` with the `__Host-` prefix unless the plain-HTTP demo turned
//! secure cookies off. None has `Max-Age`: they end with the browser session, and the server
//! ends sessions on its own clock anyway.

use http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name`, if the request carries it (the first one wins).
pub(crate) fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// A `Set-Cookie` value that stores `value` under `name`.
pub(crate) fn set(name: &str, value: &str, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(crate) fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

/// The cookie name: `__Host-{base}` when secure (the browser then insists on `Secure`,
/// `Path=/` and no `Domain`), plain `{base}` otherwise.
pub(crate) fn name(base: &'static str, secure: bool) -> &'static str {
    match (base, secure) {
        ("rathaus_session", true) => "__Host-rathaus_session",
        ("rathaus_form", true) => "__Host-rathaus_form",
        ("rathaus_eid", true) => "__Host-rathaus_eid",
        ("rathaus_pending", true) => "__Host-rathaus_pending",
        (base, _) => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_cookies_are_host_only_http_only_and_same_site() {
        let value = set(name("rathaus_session", true), "abc", true).unwrap();
        assert_eq!(
            value,
            "__Host-rathaus_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = set(name("rathaus_session", false), "abc", false).unwrap();
        assert_eq!(plain, "rathaus_session=abc; Path=/; HttpOnly; SameSite=Lax");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=de; rathaus_session=xyz; other=1"),
        );
        assert_eq!(read(&headers, "rathaus_session"), Some("xyz"));
        assert_eq!(read(&headers, "rathaus"), None);
    }
}
