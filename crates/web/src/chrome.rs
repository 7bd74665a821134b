//! The frame around every page: language, site name, header, footer and the texts they use.

use std::sync::Arc;

use rathaus_domain::{Lang, Text};

/// What a site (the portal or an authority node) says about itself in every page's frame.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    /// Shown in the header and the title, e.g. "Hamburg-Service (Demo)".
    pub name: Text,
    /// A line under the name, e.g. the tenant's full name.
    pub tagline: Text,
    /// Whether the site serves the KERN UX assets (otherwise pages fall back to plain styles).
    pub kern_assets: bool,
    /// Links of the main navigation: (path, label).
    pub navigation: Vec<(String, Text)>,
    /// Where the imprint, privacy and accessibility pages live: `Some("")` for this site,
    /// `Some(url)` for another site (an authority node links the portal's), `None` for none.
    pub legal_base: Option<String>,
}

/// Texts of the frame, in one language. Adding a field forces both translations at compile time.
#[derive(Debug)]
pub struct FrameTexts {
    pub skip_link: &'static str,
    pub language_switch_label: &'static str,
    pub main_navigation: &'static str,
    pub footer_label: &'static str,
    pub imprint: &'static str,
    pub privacy: &'static str,
    pub accessibility: &'static str,
    pub demo_notice: &'static str,
    pub error_reference: &'static str,
    pub back_to_start: &'static str,
    pub session_warning_title: &'static str,
    pub session_warning_text: &'static str,
    pub session_stay: &'static str,
    pub session_leave: &'static str,
}

pub static FRAME_DE: FrameTexts = FrameTexts {
    skip_link: "Zum Inhalt springen",
    language_switch_label: "Sprache wechseln",
    main_navigation: "Hauptnavigation",
    footer_label: "Rechtliches",
    imprint: "Impressum",
    privacy: "Datenschutz",
    accessibility: "Barrierefreiheit",
    demo_notice: "Demonstrationsumgebung der Software rathaus – keine offizielle Website einer Behörde.",
    error_reference: "Fehlerkennung",
    back_to_start: "Zur Startseite",
    session_warning_title: "Sind Sie noch da?",
    session_warning_text: "Zu Ihrem Schutz werden Sie in 2 Minuten abgemeldet, weil Sie eine Weile nichts getan haben. Gespeicherte Angaben bleiben erhalten.",
    session_stay: "Angemeldet bleiben",
    session_leave: "Zum Servicekonto",
};

pub static FRAME_EN: FrameTexts = FrameTexts {
    skip_link: "Skip to content",
    language_switch_label: "Change language",
    main_navigation: "Main navigation",
    footer_label: "Legal",
    imprint: "Legal notice",
    privacy: "Privacy",
    accessibility: "Accessibility",
    demo_notice: "Demonstration environment of the rathaus software – not an official website of any authority.",
    error_reference: "Error reference",
    back_to_start: "Back to the start page",
    session_warning_title: "Are you still there?",
    session_warning_text: "To protect you, you will be signed out in 2 minutes because you have not done anything for a while. Saved answers are kept.",
    session_stay: "Stay signed in",
    session_leave: "Go to your Servicekonto",
};

/// Everything the layout template needs.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub site: Arc<SiteInfo>,
    /// The current page's path and query without `lang`, for the language switch link.
    pub switch_href: String,
    pub frame: &'static FrameTexts,
    /// The current path, to mark the active navigation entry.
    pub path: String,
    /// A last navigation entry that depends on the visitor (the portal's "Sign in" or "My
    /// account").
    pub account_link: Option<&'static NavLink>,
    /// For a signed-in visitor, the idle timeout in seconds: the page then warns two minutes
    /// before it (with JavaScript; without it, the server's timeout holds all the same).
    pub session_idle_secs: Option<std::num::NonZeroU32>,
}

/// A navigation entry known at compile time.
#[derive(Debug)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
}

impl Chrome {
    pub fn new(site: Arc<SiteInfo>, lang: Lang, path: &str, query: Option<&str>) -> Self {
        let kept: Vec<&str> = query
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
            .take(20)
            .collect();
        let mut switch_href = String::from(path);
        switch_href.push('?');
        for pair in kept {
            switch_href.push_str(pair);
            switch_href.push('&');
        }
        switch_href.push_str("lang=");
        switch_href.push_str(lang.other().code());
        Self {
            lang,
            site,
            switch_href,
            frame: match lang {
                Lang::De => &FRAME_DE,
                Lang::En => &FRAME_EN,
            },
            path: path.to_owned(),
            account_link: None,
            session_idle_secs: None,
        }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn other_code(&self) -> &'static str {
        self.lang.other().code()
    }

    pub fn other_name(&self) -> &'static str {
        self.lang.other().endonym()
    }

    pub fn site_name(&self) -> &str {
        self.site.name.get(self.lang)
    }

    pub fn tagline(&self) -> &str {
        self.site.tagline.get(self.lang)
    }

    pub fn navigation(&self) -> Vec<(&str, &str, bool)> {
        self.site
            .navigation
            .iter()
            .map(|(href, label)| {
                let active = if href == "/" {
                    self.path == "/"
                } else {
                    self.path.starts_with(href.as_str())
                };
                (href.as_str(), label.get(self.lang), active)
            })
            .chain(
                self.account_link
                    .map(|link| (link.href, link.label, self.path.starts_with(link.href))),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_keeps_the_query_and_flips_the_language() {
        let site = Arc::new(SiteInfo {
            name: Text::new("A", "A").unwrap(),
            tagline: Text::new("B", "B").unwrap(),
            kern_assets: true,
            navigation: vec![],
            legal_base: Some(String::new()),
        });
        let chrome = Chrome::new(site, Lang::De, "/suche", Some("q=hund&lang=de&page=2"));
        assert_eq!(chrome.switch_href, "/suche?q=hund&page=2&lang=en");
    }
}
