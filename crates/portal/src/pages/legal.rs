//! Imprint, privacy notice and accessibility statement (required on every German public website:
//! TMG/DDG § 5, GDPR art. 13, BITV 2.0 § 7).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rathaus_domain::Lang;

use super::render;
use crate::state::{Page, PortalState};

type Sections = &'static [(&'static str, &'static [&'static str])];

#[derive(Template)]
#[template(path = "portal/legal.html")]
struct LegalPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    title: &'static str,
    sections: Sections,
}

fn show(
    state: &PortalState,
    page: &Page,
    de: (&'static str, Sections),
    en: (&'static str, Sections),
) -> Response {
    let (title, sections) = match page.chrome.lang {
        Lang::De => de,
        Lang::En => en,
    };
    render(
        page,
        state.secure_cookies,
        &LegalPage {
            chrome: &page.chrome,
            title,
            sections,
        },
    )
}

pub async fn imprint(State(state): State<PortalState>, page: Page) -> Response {
    show(
        &state,
        &page,
        ("Impressum", IMPRINT_DE),
        ("Legal notice", IMPRINT_EN),
    )
}

pub async fn privacy(State(state): State<PortalState>, page: Page) -> Response {
    show(
        &state,
        &page,
        ("Datenschutzerklärung", PRIVACY_DE),
        ("Privacy notice", PRIVACY_EN),
    )
}

pub async fn accessibility(State(state): State<PortalState>, page: Page) -> Response {
    show(
        &state,
        &page,
        ("Erklärung zur Barrierefreiheit", ACCESSIBILITY_DE),
        ("Accessibility statement", ACCESSIBILITY_EN),
    )
}

const IMPRINT_DE: Sections = &[
    (
        "Anbieter",
        &[
            "Diese Installation ist eine Demonstrationsumgebung der freien Software rathaus. Sie wird nicht von einer Behörde betrieben; die gezeigten Behörden, Adressen und Zuständigkeiten dienen nur der Vorführung.",
            "Wer rathaus betreibt, ersetzt diesen Text durch die Angaben der verantwortlichen Stelle nach § 5 Digitale-Dienste-Gesetz.",
        ],
    ),
    (
        "Software",
        &[
            "rathaus ist freie Software unter der European Union Public Licence (EUPL-1.2). Die Gestaltung folgt dem KERN-Designsystem der deutschen Verwaltung.",
        ],
    ),
    (
        "Leistungsbeschreibungen",
        &[
            "Die Einträge des Leistungskatalogs stammen aus dem Leistungskatalog der öffentlichen Verwaltung (LeiKa) und dem Föderalen Informationsmanagement (FIM).",
        ],
    ),
];

const IMPRINT_EN: Sections = &[
    (
        "Provider",
        &[
            "This installation is a demonstration environment of the free software rathaus. It is not operated by any authority; the authorities, addresses and responsibilities shown are for demonstration only.",
            "Whoever operates rathaus replaces this text with the details of the responsible body as required by section 5 of the German Digital Services Act (DDG).",
        ],
    ),
    (
        "Software",
        &[
            "rathaus is free software under the European Union Public Licence (EUPL-1.2). Its design follows KERN, the design system of the German administration.",
        ],
    ),
    (
        "Service descriptions",
        &[
            "Catalogue entries come from the German public service catalogue (LeiKa) and the federal information management (FIM).",
        ],
    ),
];

const PRIVACY_DE: Sections = &[
    (
        "Grundsatz",
        &[
            "Dieses Portal erhebt nur die Daten, die für eine Leistung erforderlich sind. Der Inhalt eines Antrags wird verschlüsselt an die zuständige Behörde übermittelt und nach der Zustellung nicht im Portal gespeichert.",
        ],
    ),
    (
        "Beim Besuch der Seiten",
        &[
            "Der Server verarbeitet technisch notwendige Daten (IP-Adresse, aufgerufene Seite, Zeitpunkt), um die Seiten auszuliefern und Angriffe abzuwehren. Suchbegriffe und Postleitzahlen werden nicht protokolliert.",
            "Ein Cookie „lang“ speichert nur die gewählte Sprache. Es werden keine Analyse- oder Werbedienste eingesetzt und keine Inhalte Dritter geladen.",
        ],
    ),
    (
        "Ihre Rechte",
        &[
            "Sie haben das Recht auf Auskunft, Berichtigung, Löschung und Einschränkung der Verarbeitung sowie auf Beschwerde bei einer Datenschutzaufsichtsbehörde (Art. 15 bis 18 und 77 DSGVO).",
        ],
    ),
];

const PRIVACY_EN: Sections = &[
    (
        "Principle",
        &[
            "This portal collects only the data a service needs. The content of an application is sent encrypted to the responsible authority and is not kept in the portal after delivery.",
        ],
    ),
    (
        "When you visit these pages",
        &[
            "The server processes technically necessary data (IP address, page requested, time) to deliver the pages and to fend off attacks. Search terms and postcodes are not logged.",
            "A cookie called “lang” stores only the language you chose. No analytics or advertising services are used and no third-party content is loaded.",
        ],
    ),
    (
        "Your rights",
        &[
            "You have the right of access, rectification, erasure and restriction of processing, and the right to lodge a complaint with a data protection supervisory authority (GDPR articles 15 to 18 and 77).",
        ],
    ),
];

const ACCESSIBILITY_DE: Sections = &[
    (
        "Stand der Vereinbarkeit",
        &[
            "Dieses Portal soll die Anforderungen der Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) und der WCAG 2.1 auf Stufe AA erfüllen. Alle Seiten funktionieren ohne JavaScript, mit der Tastatur und mit Bildschirmlesern; sie werden automatisiert mit axe-core geprüft.",
        ],
    ),
    (
        "Nicht barrierefreie Inhalte",
        &[
            "Einträge aus dem bundesweiten Leistungskatalog liegen nur auf Deutsch vor; auf englischen Seiten sind sie als deutschsprachig gekennzeichnet.",
        ],
    ),
    (
        "Feedback und Kontakt",
        &[
            "Wenn Ihnen Barrieren auffallen, wenden Sie sich bitte an die Behördennummer 115. Ihre Rückmeldung wird an die Betreiber weitergeleitet.",
        ],
    ),
];

const ACCESSIBILITY_EN: Sections = &[
    (
        "Compliance status",
        &[
            "This portal aims to meet the German accessibility regulation (BITV 2.0) and WCAG 2.1 at level AA. Every page works without JavaScript, with the keyboard and with screen readers; pages are tested automatically with axe-core.",
        ],
    ),
    (
        "Content that is not accessible",
        &[
            "Entries from the national service catalogue exist in German only; English pages mark them as German.",
        ],
    ),
    (
        "Feedback and contact",
        &[
            "If you notice a barrier, please call the public service number 115. Your feedback is passed on to the operators.",
        ],
    ),
];
