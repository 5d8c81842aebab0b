//! Closed vocabularies of the incident record.
//!
//! Values are written in snake_case (`credit_institution`). Input is matched
//! without regard to case, `_`, `-`, spaces or `+`, so `CreditInstitution`
//! and `credit-institution` mean the same; anything else is rejected with
//! the list of accepted values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn fold(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '+' | ':'))
        .flat_map(char::to_lowercase)
        .collect()
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(input: &str) -> Option<Self> {
                let key = fold(input);
                $(
                    if key == fold($text) $(|| key == fold($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown value `{text}`; expected one of: {}",
                        $name::expected()
                    ))
                })
            }
        }
    };
}

vocabulary! {
    /// NIS2 Art. 3 classification of the entity.
    Nis2Class { Essential => "essential", Important => "important", None => "none" }
}

vocabulary! {
    /// The kind of financial entity under DORA Art. 2(1)(a)–(t), or none.
    DoraType {
        None => "none",
        CreditInstitution => "credit_institution",
        PaymentInstitution => "payment_institution",
        AccountInformationServiceProvider => "account_information_service_provider",
        ElectronicMoneyInstitution => "electronic_money_institution" | "e_money_institution",
        InvestmentFirm => "investment_firm",
        CryptoAssetServiceProvider => "crypto_asset_service_provider",
        CentralSecuritiesDepository => "central_securities_depository" | "csd",
        Ccp => "ccp" | "central_counterparty",
        TradingVenue => "trading_venue",
        TradeRepository => "trade_repository",
        AlternativeInvestmentFundManager => "alternative_investment_fund_manager" | "aifm",
        ManagementCompany => "management_company",
        DataReportingServiceProvider => "data_reporting_service_provider",
        InsuranceUndertaking => "insurance_undertaking" | "reinsurance_undertaking",
        InsuranceIntermediary => "insurance_intermediary",
        Iorp => "iorp" | "institution_for_occupational_retirement_provision",
        CreditRatingAgency => "credit_rating_agency",
        CriticalBenchmarkAdministrator => "critical_benchmark_administrator",
        CrowdfundingServiceProvider => "crowdfunding_service_provider",
        SecuritisationRepository => "securitisation_repository",
    }
}

vocabulary! {
    /// The entity's role under GDPR for the breached data.
    GdprRole { Controller => "controller", Processor => "processor", None => "none" }
}

vocabulary! {
    /// The entity's role under HIPAA.
    HipaaRole { CoveredEntity => "covered_entity", BusinessAssociate => "business_associate", None => "none" }
}

vocabulary! {
    /// Which SEC current report the entity files.
    SecFiler { None => "none", Form8K => "form_8k" | "8k", Form6K => "form_6k" | "6k" }
}

vocabulary! {
    /// The 16 U.S. critical infrastructure sectors (PPD-21).
    UsCiSector {
        Chemical => "chemical",
        CommercialFacilities => "commercial_facilities",
        Communications => "communications",
        CriticalManufacturing => "critical_manufacturing",
        Dams => "dams",
        DefenseIndustrialBase => "defense_industrial_base",
        EmergencyServices => "emergency_services",
        Energy => "energy",
        FinancialServices => "financial_services",
        FoodAndAgriculture => "food_and_agriculture",
        GovernmentFacilities => "government_facilities",
        HealthcareAndPublicHealth => "healthcare_and_public_health",
        InformationTechnology => "information_technology",
        NuclearReactorsMaterialsAndWaste => "nuclear_reactors_materials_and_waste" | "nuclear",
        TransportationSystems => "transportation_systems",
        WaterAndWastewaterSystems => "water_and_wastewater_systems" | "water",
    }
}

vocabulary! {
    /// What a CRA Art. 14 report is about.
    CraEvent {
        ExploitedVulnerability => "exploited_vulnerability" | "exploited_vuln" | "actively_exploited_vulnerability",
        SevereIncident => "severe_incident",
    }
}

vocabulary! {
    /// GDPR risk assessment of a personal data breach (Art. 33(1), 34(1)).
    GdprRisk { Unlikely => "unlikely", Risk => "risk", High => "high" }
}

vocabulary! {
    /// Yes, no, or not yet known. JSON `true`/`false` are accepted as yes/no.
    TriState { Yes => "yes" | "true", No => "no" | "false", Unknown => "unknown" }
}

vocabulary! {
    /// Severity of the incident as the entity assesses it.
    Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
}

vocabulary! {
    /// Incident type (DORA RTS 2025/301 Art. 3 / ITS 2025/302 vocabulary).
    IncidentType {
        Cybersecurity => "cybersecurity" | "cybersecurity_related",
        ProcessFailure => "process_failure",
        SystemFailure => "system_failure",
        ExternalEvent => "external_event",
        PaymentRelated => "payment_related",
        Other => "other",
    }
}

vocabulary! {
    /// DORA classification criteria (RTS 2024/1772 Arts. 1–8).
    DoraCriterion {
        ClientsCounterpartsTransactions => "clients_counterparts_transactions",
        ReputationalImpact => "reputational_impact",
        DurationAndDowntime => "duration_and_downtime",
        GeographicalSpread => "geographical_spread",
        DataLosses => "data_losses",
        CriticalServices => "critical_services",
        EconomicImpact => "economic_impact",
    }
}

/// FIRST TLP 2.0 labels: the workspace's one TLP type (`TLP:AMBER+STRICT`,
/// `amber_strict` and `white` for CLEAR are accepted).
pub use stix::Tlp;

/// Deserialises a [`TriState`] from either a string or a JSON boolean.
pub(crate) fn tri_state_from_any<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TriState>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Bool(true)) => Ok(Some(TriState::Yes)),
        Some(Raw::Bool(false)) => Ok(Some(TriState::No)),
        Some(Raw::Text(text)) => TriState::parse(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown value `{text}`; expected one of: {}",
                TriState::expected()
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_matching_ignores_case_and_separators() {
        assert_eq!(
            DoraType::parse("CreditInstitution"),
            Some(DoraType::CreditInstitution)
        );
        assert_eq!(
            DoraType::parse("credit-institution"),
            Some(DoraType::CreditInstitution)
        );
        assert_eq!(SecFiler::parse("Form8K"), Some(SecFiler::Form8K));
        assert_eq!("TLP:AMBER+STRICT".parse(), Ok(Tlp::AmberStrict));
        assert_eq!("amber_strict".parse(), Ok(Tlp::AmberStrict));
        assert_eq!("amber".parse(), Ok(Tlp::Amber));
        assert_eq!(Nis2Class::parse("essentiall"), None);
    }

    #[test]
    fn unknown_values_list_what_is_accepted() {
        let err = serde_json::from_str::<GdprRisk>("\"maybe\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected one of: unlikely, risk, high"),
            "{err}"
        );
    }
}
