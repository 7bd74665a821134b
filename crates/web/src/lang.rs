//! Which language a page is shown in: `?lang=` wins, then the `lang` cookie (the remembered
//! choice), then the browser's Accept-Language, then German.

use axum::extract::FromRequestParts;
use http::header::{ACCEPT_LANGUAGE, COOKIE};
use http::request::Parts;
use rathaus_domain::Lang;

/// The cookie that remembers the language choice (not personal data, no consent needed).
pub const LANG_COOKIE: &str = "lang";

/// The language of the current request, and whether it was chosen explicitly by `?lang=`
/// (then the response remembers it in a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLang {
    pub lang: Lang,
    pub explicit: bool,
}

impl PageLang {
    pub fn from_parts(parts: &Parts) -> Self {
        if let Some(lang) = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(|v| v.parse::<Lang>().ok())
        }) {
            return Self {
                lang,
                explicit: true,
            };
        }
        let from_cookie = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                c.trim()
                    .strip_prefix("lang=")
                    .and_then(|v| v.parse::<Lang>().ok())
            });
        if let Some(lang) = from_cookie {
            return Self {
                lang,
                explicit: false,
            };
        }
        let lang = parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or_default();
        Self {
            lang,
            explicit: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// The `Set-Cookie` value that remembers a language for a year.
pub fn remember_cookie(lang: Lang, secure: bool) -> String {
    format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        lang.code(),
        if secure { "; Secure" } else { "" }
    )
}
