//! Life situations (Lebenslagen) and business situations (Unternehmenslagen) of the German
//! Online Access Act (OZG) catalogue, the facets by which people browse the services.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// Who a life situation is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Citizens,
    Businesses,
}

/// One life situation; `slug` is its stable id in definitions, URLs and the API.
#[derive(Debug, PartialEq, Eq)]
pub struct LifeSituationInfo {
    pub slug: &'static str,
    pub de: &'static str,
    pub en: &'static str,
    pub audience: Audience,
}

macro_rules! life_situations {
    ($($variant:ident => $slug:literal, $de:literal, $en:literal, $audience:ident;)*) => {
        /// A life situation of the OZG catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum LifeSituation {
            $($variant,)*
        }

        impl LifeSituation {
            pub const ALL: &'static [LifeSituation] = &[$(Self::$variant,)*];

            pub fn info(self) -> &'static LifeSituationInfo {
                match self {
                    $(Self::$variant => &LifeSituationInfo {
                        slug: $slug,
                        de: $de,
                        en: $en,
                        audience: Audience::$audience,
                    },)*
                }
            }
        }
    };
}

life_situations! {
    // Citizens
    Birth => "birth", "Geburt", "Having a child", Citizens;
    Childcare => "childcare", "Kinderbetreuung", "Childcare", Citizens;
    School => "school", "Schule", "School", Citizens;
    VocationalTraining => "vocational-training", "Berufsausbildung", "Vocational training", Citizens;
    Studies => "studies", "Studium", "University studies", Citizens;
    FurtherEducation => "further-education", "Weiterbildung", "Further education", Citizens;
    Moving => "moving", "Wohnen & Umzug", "Housing and moving", Citizens;
    HouseBuilding => "house-building", "Hausbau & Immobilienerwerb", "Building or buying a home", Citizens;
    Marriage => "marriage", "Eheschließung", "Getting married", Citizens;
    Divorce => "divorce", "Scheidung", "Divorce", Citizens;
    SeparationWithChild => "separation-with-child", "Trennung mit Kind", "Separation with children", Citizens;
    AdoptionFoster => "adoption-foster", "Adoption & Pflegekinder", "Adoption and foster children", Citizens;
    JobChange => "job-change", "Arbeitsplatzwechsel", "Changing jobs", Citizens;
    JobLoss => "job-loss", "(Drohender) Arbeitsplatzverlust & -suche", "Losing a job and job search", Citizens;
    FinancialSupport => "financial-support", "Finanzielle Existenzsicherung/Unterstützung bei finanziellen Problemen", "Financial support", Citizens;
    Pension => "pension", "Rente & Soziale Entschädigung", "Pensions and social compensation", Citizens;
    RetirementSavings => "retirement-savings", "Altersvorsorge", "Saving for retirement", Citizens;
    Illness => "illness", "Krankheit", "Illness", Citizens;
    HealthPrevention => "health-prevention", "Gesundheitsvorsorge", "Staying healthy", Citizens;
    Disability => "disability", "Behinderung", "Disability", Citizens;
    Care => "care", "Pflege", "Long-term care", Citizens;
    Death => "death", "Tod", "Death of a relative", Citizens;
    DrivingLicence => "driving-licence", "Führerschein", "Driving licence", Citizens;
    Vehicle => "vehicle", "Kfz-Besitz", "Owning a vehicle", Citizens;
    Boat => "boat", "Bootsbesitz", "Owning a boat", Citizens;
    Pets => "pets", "Tierhaltung", "Keeping animals", Citizens;
    FishingHunting => "fishing-hunting", "Fischen & Jagen", "Fishing and hunting", Citizens;
    Volunteering => "volunteering", "Engagement & Beteiligung", "Volunteering and participation", Citizens;
    Events => "events", "Veranstaltungen", "Events", Citizens;
    StayingAbroad => "staying-abroad", "Auslandsaufenthalt", "Staying abroad", Citizens;
    Immigration => "immigration", "Einwanderung", "Immigration", Citizens;
    Emigration => "emigration", "Auswanderung", "Emigration", Citizens;
    TaxReturn => "tax-return", "Steuererklärung", "Tax return", Citizens;
    CourtProceedings => "court-proceedings", "Gerichtliche und außergerichtliche Verfahren", "Court and out-of-court proceedings", Citizens;
    CrimeVictims => "crime-victims", "Rechtsverstöße - Anzeigen und Hilfen für Opfer", "Reporting offences and help for victims", Citizens;
    NaturalDisasters => "natural-disasters", "Naturkatastrophen", "Natural disasters", Citizens;
    CitizensGeneral => "citizens-general", "Querschnitt Bürger", "General services for citizens", Citizens;
    // Businesses
    BusinessStartup => "business-startup", "Unternehmensstart & Gewerbezulassung", "Starting a business and trade licensing", Businesses;
    BusinessClosure => "business-closure", "Geschäftsauflösung & Unternehmensübergang", "Closing or handing over a business", Businesses;
    Employer => "employer", "Arbeitgeber sein", "Being an employer", Businesses;
    OccupationalSafety => "occupational-safety", "Arbeitssicherheit", "Occupational safety", Businesses;
    TrainingQualification => "training-qualification", "Aus-, Weiterbildung & Sachkunde", "Training and proof of competence", Businesses;
    Construction => "construction", "Bauen & Immobilien", "Building and real estate", Businesses;
    PlantsSubstances => "plants-substances", "Anlagen & Stoffe", "Installations and hazardous substances", Businesses;
    WasteEnvironment => "waste-environment", "Abfall & Umweltschutz", "Waste and environmental protection", Businesses;
    LogisticsTransport => "logistics-transport", "Logistik & Transport", "Logistics and transport", Businesses;
    Funding => "funding", "Finanzierung & Förderung", "Financing and funding", Businesses;
    ResearchDevelopment => "research-development", "Forschung & Entwicklung", "Research and development", Businesses;
    ForeignTrade => "foreign-trade", "Auslandsgeschäft", "Foreign trade", Businesses;
    PublicProcurement => "public-procurement", "Ausschreibungen & öffentliche Aufträge", "Public procurement", Businesses;
    TaxesDuties => "taxes-duties", "Steuern & Abgaben", "Taxes and duties", Businesses;
    Statistics => "statistics", "Statistik- & Berichtspflichten", "Statistics and reporting duties", Businesses;
    RunningEvents => "running-events", "Veranstaltung durchführen", "Organising an event", Businesses;
    BusinessGeneral => "business-general", "Querschnitt Unternehmen", "General services for businesses", Businesses;
    Other => "other", "Weitere Leistungen", "Other services", Citizens;
}

impl LifeSituation {
    pub fn slug(self) -> &'static str {
        self.info().slug
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match lang {
            Lang::De => self.info().de,
            Lang::En => self.info().en,
        }
    }

    pub fn audience(self) -> Audience {
        self.info().audience
    }

    /// Maps the German name used in the OZG catalogue export (column `lebenslage`).
    pub fn from_catalogue_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL.iter().copied().find(|ls| ls.info().de == name)
    }
}

impl FromStr for LifeSituation {
    type Err = UnknownLifeSituation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|ls| ls.slug() == s)
            .ok_or_else(|| UnknownLifeSituation(crate::keys::truncate_for_message(s)))
    }
}

impl TryFrom<String> for LifeSituation {
    type Error = UnknownLifeSituation;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LifeSituation> for &'static str {
    fn from(ls: LifeSituation) -> Self {
        ls.slug()
    }
}

impl fmt::Display for LifeSituation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown life situation `{0}`; known are: moving, birth, childcare, pets, vehicle, business-startup, … (see docs/service-definitions.md)"
)]
pub struct UnknownLifeSituation(String);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slugs_and_names_are_unique() {
        let slugs: HashSet<_> = LifeSituation::ALL.iter().map(|l| l.slug()).collect();
        let names: HashSet<_> = LifeSituation::ALL.iter().map(|l| l.info().de).collect();
        assert_eq!(slugs.len(), LifeSituation::ALL.len());
        assert_eq!(names.len(), LifeSituation::ALL.len());
        for ls in LifeSituation::ALL {
            assert!(crate::keys::is_slug(ls.slug(), 2, 60), "{}", ls.slug());
            assert_eq!(ls.slug().parse::<LifeSituation>(), Ok(*ls));
        }
    }

    #[test]
    fn catalogue_names_map_to_life_situations() {
        assert_eq!(
            LifeSituation::from_catalogue_name("Wohnen & Umzug"),
            Some(LifeSituation::Moving)
        );
        assert_eq!(
            LifeSituation::from_catalogue_name("Unternehmensstart & Gewerbezulassung"),
            Some(LifeSituation::BusinessStartup)
        );
        assert_eq!(LifeSituation::from_catalogue_name("Unbekannt"), None);
    }
}
