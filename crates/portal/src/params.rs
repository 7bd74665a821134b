//! Query-string parameters, decoded leniently (any bytes are safe) and parsed strictly.

use rathaus_domain::LifeSituation;

#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

/// Deepest page a list can be paged to; beyond that people should refine the search.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidParam(pub &'static str);

impl Params {
    /// Decodes `a=1&b=2`; invalid percent-encodings and invalid UTF-8 become U+FFFD, so
    /// decoding itself never fails. At most 50 pairs are kept.
    pub fn parse(query: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
        Self(pairs.into_iter().take(50).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `page`, 1-based, default 1.
    pub fn page_number(&self) -> Result<usize, InvalidParam> {
        match self.get("page").map(str::trim) {
            None | Some("") => Ok(1),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or(InvalidParam("page")),
        }
    }

    /// `life_situation`, a slug; empty means none.
    pub fn life_situation(&self) -> Result<Option<LifeSituation>, InvalidParam> {
        match self.get("life_situation").map(str::trim) {
            None | Some("") => Ok(None),
            Some(slug) => slug
                .parse()
                .map(Some)
                .map_err(|_| InvalidParam("life_situation")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_never_fails_and_parsing_is_strict() {
        let params = Params::parse(Some("q=%FF%FE&page=2&life_situation=pets"));
        assert_eq!(params.get("q"), Some("\u{FFFD}\u{FFFD}"));
        assert_eq!(params.page_number(), Ok(2));
        assert_eq!(params.life_situation(), Ok(Some(LifeSituation::Pets)));
        assert!(Params::parse(Some("page=0")).page_number().is_err());
        assert!(Params::parse(Some("page=-1")).page_number().is_err());
        assert!(
            Params::parse(Some("page=99999999999999999999"))
                .page_number()
                .is_err()
        );
        assert!(
            Params::parse(Some("life_situation=kittens"))
                .life_situation()
                .is_err()
        );
        assert_eq!(Params::parse(Some("%%%&&&==")).get("q"), None);
    }
}
