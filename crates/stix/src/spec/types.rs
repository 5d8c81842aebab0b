//! Every STIX 2.1 object type, nested type and predefined extension as data:
//! its properties, which are required, and what their values must be
//! (STIX 2.1 sections 2 and 4 to 7). Rules that relate properties to each
//! other live in `rules.rs` and are attached here.

use super::rules;
use super::ty::{
    DictValue, HashKeys, INT_MAX, INT_MIN, Prop, Refs, Rule, StructSpec, Syntax, Ty, opt, req,
};
use crate::object::ObjectKind;

/// One object type.
#[derive(Debug)]
pub(crate) struct TypeSpec {
    pub name: &'static str,
    pub kind: ObjectKind,
    pub props: &'static [Prop],
    /// Predefined extensions (STIX 2.1 section 3.10), by dictionary key.
    pub extensions: &'static [(&'static str, &'static StructSpec)],
    pub rule: Option<Rule>,
    /// For SCOs whose ID contributing properties are all optional: those
    /// properties. When none is present the id MUST use a UUIDv4 (STIX 2.1
    /// section 2.9).
    pub uuid_v4_unless: Option<&'static [&'static str]>,
}

impl TypeSpec {
    pub fn prop(&self, name: &str) -> Option<&'static Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    pub fn extension(&self, key: &str) -> Option<&'static StructSpec> {
        self.extensions
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, spec)| *spec)
    }
}

// ---------------------------------------------------------------- value types

const INT: Ty = Ty::Integer(INT_MIN, INT_MAX);
const NON_NEGATIVE: Ty = Ty::Integer(0, INT_MAX);
const STRINGS: Ty = Ty::List(&Ty::String);
const TS: Ty = Ty::Timestamp;
const ANY_REFS: Ty = Ty::List(&Ty::Ref(Refs::Any));
const HASHES: Ty = Ty::Hashes(HashKeys::Open);
const KILL_CHAIN_PHASES: Ty = Ty::List(&Ty::Struct(&KILL_CHAIN_PHASE));

const fn refs(types: &'static [&'static str]) -> Ty {
    Ty::Ref(Refs::Types(types))
}

const SOFTWARE: &[&str] = &["software"];
const EMAIL_ADDR: &[&str] = &["email-addr"];
const USER_ACCOUNT: &[&str] = &["user-account"];
const ARTIFACT: &[&str] = &["artifact"];
const FILE_OR_DIRECTORY: &[&str] = &["file", "directory"];
const NETWORK_TRAFFIC: &[&str] = &["network-traffic"];
const PROCESS: &[&str] = &["process"];
const ADDRESSES: &[&str] = &["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"];

// ------------------------------------------------------------ closed vocabularies

pub(crate) const OPINION_ENUM: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];
pub(crate) const EXTENSION_TYPE_ENUM: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];
const ENCRYPTION_ALGORITHM_ENUM: &[&str] =
    &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"];
const SOCKET_ADDRESS_FAMILY_ENUM: &[&str] = &[
    "AF_UNSPEC",
    "AF_INET",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETBIOS",
    "AF_INET6",
    "AF_IRDA",
    "AF_BTH",
];
const SOCKET_TYPE_ENUM: &[&str] = &[
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
];
const INTEGRITY_LEVEL_ENUM: &[&str] = &["low", "medium", "high", "system"];
const REGISTRY_DATATYPE_ENUM: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];
const SERVICE_START_TYPE_ENUM: &[&str] = &[
    "SERVICE_AUTO_START",
    "SERVICE_BOOT_START",
    "SERVICE_DEMAND_START",
    "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT",
];
const SERVICE_TYPE_ENUM: &[&str] = &[
    "SERVICE_KERNEL_DRIVER",
    "SERVICE_FILE_SYSTEM_DRIVER",
    "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
];
const SERVICE_STATUS_ENUM: &[&str] = &[
    "SERVICE_CONTINUE_PENDING",
    "SERVICE_PAUSE_PENDING",
    "SERVICE_PAUSED",
    "SERVICE_RUNNING",
    "SERVICE_START_PENDING",
    "SERVICE_STOP_PENDING",
    "SERVICE_STOPPED",
];

// -------------------------------------------------------------- nested types

pub(crate) static KILL_CHAIN_PHASE: StructSpec = StructSpec {
    what: "kill chain phase",
    props: &[
        req("kill_chain_name", Ty::String),
        req("phase_name", Ty::String),
    ],
    at_least_one: false,
    custom_properties_checked: false,
    rule: None,
};

pub(crate) static EXTERNAL_REFERENCE: StructSpec = StructSpec {
    what: "external reference",
    props: &[
        req("source_name", Ty::String),
        opt("description", Ty::String),
        opt("url", Ty::String),
        opt("hashes", Ty::Hashes(HashKeys::Closed)),
        opt("external_id", Ty::String),
    ],
    at_least_one: false,
    custom_properties_checked: false,
    rule: Some(rules::external_reference),
};

static MIME_PART: StructSpec = StructSpec {
    what: "MIME part (email-mime-part-type)",
    props: &[
        opt("body", Ty::String),
        opt("body_raw_ref", refs(&["artifact", "file"])),
        opt("content_type", Ty::String),
        opt("content_disposition", Ty::String),
    ],
    at_least_one: false,
    custom_properties_checked: false,
    rule: Some(rules::mime_part),
};

static ALTERNATE_DATA_STREAM: StructSpec = StructSpec {
    what: "alternate data stream",
    props: &[
        req("name", Ty::String),
        opt("hashes", HASHES),
        opt("size", NON_NEGATIVE),
    ],
    at_least_one: false,
    custom_properties_checked: false,
    rule: None,
};

static PE_OPTIONAL_HEADER: StructSpec = StructSpec {
    what: "Windows PE optional header",
    props: &[
        opt("magic_hex", Ty::Hex),
        opt("major_linker_version", INT),
        opt("minor_linker_version", INT),
        opt("size_of_code", NON_NEGATIVE),
        opt("size_of_initialized_data", NON_NEGATIVE),
        opt("size_of_uninitialized_data", NON_NEGATIVE),
        opt("address_of_entry_point", INT),
        opt("base_of_code", INT),
        opt("base_of_data", INT),
        opt("image_base", INT),
        opt("section_alignment", INT),
        opt("file_alignment", INT),
        opt("major_os_version", INT),
        opt("minor_os_version", INT),
        opt("major_image_version", INT),
        opt("minor_image_version", INT),
        opt("major_subsystem_version", INT),
        opt("minor_subsystem_version", INT),
        opt("win32_version_value_hex", Ty::Hex),
        opt("size_of_image", NON_NEGATIVE),
        opt("size_of_headers", NON_NEGATIVE),
        opt("checksum_hex", Ty::Hex),
        opt("subsystem_hex", Ty::Hex),
        opt("dll_characteristics_hex", Ty::Hex),
        opt("size_of_stack_reserve", NON_NEGATIVE),
        opt("size_of_stack_commit", NON_NEGATIVE),
        opt("size_of_heap_reserve", NON_NEGATIVE),
        opt("size_of_heap_commit", NON_NEGATIVE),
        opt("loader_flags_hex", Ty::Hex),
        opt("number_of_rva_and_sizes", INT),
        opt("hashes", HASHES),
    ],
    at_least_one: true,
    custom_properties_checked: false,
    rule: None,
};

static PE_SECTION: StructSpec = StructSpec {
    what: "Windows PE section",
    props: &[
        req("name", Ty::String),
        opt("size", NON_NEGATIVE),
        opt("entropy", Ty::Float(f64::MIN, f64::MAX)),
        opt("hashes", HASHES),
    ],
    at_least_one: false,
    custom_properties_checked: false,
    rule: None,
};

static REGISTRY_VALUE: StructSpec = StructSpec {
    what: "Windows registry value",
    props: &[
        opt("name", Ty::String),
        opt("data", Ty::String),
        opt(
            "data_type",
            Ty::Enum("windows-registry-datatype-enum", REGISTRY_DATATYPE_ENUM),
        ),
    ],
    at_least_one: true,
    custom_properties_checked: false,
    rule: None,
};

static X509_V3_EXTENSIONS: StructSpec = StructSpec {
    what: "X.509 v3 extensions type",
    props: &[
        opt("basic_constraints", Ty::String),
        opt("name_constraints", Ty::String),
        opt("policy_constraints", Ty::String),
        opt("key_usage", Ty::String),
        opt("extended_key_usage", Ty::String),
        opt("subject_key_identifier", Ty::String),
        opt("authority_key_identifier", Ty::String),
        opt("subject_alternative_name", Ty::String),
        opt("issuer_alternative_name", Ty::String),
        opt("subject_directory_attributes", Ty::String),
        opt("crl_distribution_points", Ty::String),
        opt("inhibit_any_policy", Ty::String),
        opt("private_key_usage_period_not_before", TS),
        opt("private_key_usage_period_not_after", TS),
        opt("certificate_policies", Ty::String),
        opt("policy_mappings", Ty::String),
    ],
    at_least_one: true,
    custom_properties_checked: false,
    rule: None,
};

// ------------------------------------------------------- predefined extensions

static ARCHIVE_EXT: StructSpec = StructSpec {
    what: "archive-ext extension",
    props: &[
        req("contains_refs", Ty::List(&refs(FILE_OR_DIRECTORY))),
        opt("comment", Ty::String),
    ],
    at_least_one: false,
    custom_properties_checked: true,
    rule: None,
};

static NTFS_EXT: StructSpec = StructSpec {
    what: "ntfs-ext extension",
    props: &[
        opt("sid", Ty::String),
        opt(
            "alternate_data_streams",
            Ty::List(&Ty::Struct(&ALTERNATE_DATA_STREAM)),
        ),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static PDF_EXT: StructSpec = StructSpec {
    what: "pdf-ext extension",
    props: &[
        opt("version", Ty::String),
        opt("is_optimized", Ty::Boolean),
        opt("document_info_dict", Ty::Dict(DictValue::String)),
        opt("pdfid0", Ty::String),
        opt("pdfid1", Ty::String),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static RASTER_IMAGE_EXT: StructSpec = StructSpec {
    what: "raster-image-ext extension",
    props: &[
        opt("image_height", INT),
        opt("image_width", INT),
        opt("bits_per_pixel", INT),
        opt("exif_tags", Ty::Dict(DictValue::IntegerOrString)),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static WINDOWS_PEBINARY_EXT: StructSpec = StructSpec {
    what: "windows-pebinary-ext extension",
    props: &[
        req("pe_type", Ty::String),
        opt("imphash", Ty::String),
        opt("machine_hex", Ty::Hex),
        opt("number_of_sections", NON_NEGATIVE),
        opt("time_date_stamp", Ty::TimestampToSecond),
        opt("pointer_to_symbol_table_hex", Ty::Hex),
        opt("number_of_symbols", NON_NEGATIVE),
        opt("size_of_optional_header", NON_NEGATIVE),
        opt("characteristics_hex", Ty::Hex),
        opt("file_header_hashes", HASHES),
        opt("optional_header", Ty::Struct(&PE_OPTIONAL_HEADER)),
        opt("sections", Ty::List(&Ty::Struct(&PE_SECTION))),
    ],
    at_least_one: false,
    custom_properties_checked: true,
    rule: Some(rules::windows_pebinary_ext),
};

static HTTP_REQUEST_EXT: StructSpec = StructSpec {
    what: "http-request-ext extension",
    props: &[
        req("request_method", Ty::String),
        req("request_value", Ty::String),
        opt("request_version", Ty::String),
        opt("request_header", Ty::Dict(DictValue::ListOfStrings)),
        opt("message_body_length", INT),
        opt("message_body_data_ref", refs(ARTIFACT)),
    ],
    at_least_one: false,
    custom_properties_checked: true,
    rule: None,
};

static ICMP_EXT: StructSpec = StructSpec {
    what: "icmp-ext extension",
    props: &[req("icmp_type_hex", Ty::Hex), req("icmp_code_hex", Ty::Hex)],
    at_least_one: false,
    custom_properties_checked: true,
    rule: None,
};

static SOCKET_EXT: StructSpec = StructSpec {
    what: "socket-ext extension",
    props: &[
        req(
            "address_family",
            Ty::Enum(
                "network-socket-address-family-enum",
                SOCKET_ADDRESS_FAMILY_ENUM,
            ),
        ),
        opt("is_blocking", Ty::Boolean),
        opt("is_listening", Ty::Boolean),
        opt("options", Ty::Dict(DictValue::Integer)),
        opt(
            "socket_type",
            Ty::Enum("network-socket-type-enum", SOCKET_TYPE_ENUM),
        ),
        opt("socket_descriptor", NON_NEGATIVE),
        opt("socket_handle", INT),
    ],
    at_least_one: false,
    custom_properties_checked: true,
    rule: None,
};

static TCP_EXT: StructSpec = StructSpec {
    what: "tcp-ext extension",
    props: &[opt("src_flags_hex", Ty::Hex), opt("dst_flags_hex", Ty::Hex)],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static WINDOWS_PROCESS_EXT: StructSpec = StructSpec {
    what: "windows-process-ext extension",
    props: &[
        opt("aslr_enabled", Ty::Boolean),
        opt("dep_enabled", Ty::Boolean),
        opt("priority", Ty::String),
        opt("owner_sid", Ty::String),
        opt("window_title", Ty::String),
        opt("startup_info", Ty::Dict(DictValue::AnyOrNull)),
        opt(
            "integrity_level",
            Ty::Enum("windows-integrity-level-enum", INTEGRITY_LEVEL_ENUM),
        ),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static WINDOWS_SERVICE_EXT: StructSpec = StructSpec {
    what: "windows-service-ext extension",
    props: &[
        opt("service_name", Ty::String),
        opt("descriptions", STRINGS),
        opt("display_name", Ty::String),
        opt("group_name", Ty::String),
        opt(
            "start_type",
            Ty::Enum("windows-service-start-type-enum", SERVICE_START_TYPE_ENUM),
        ),
        opt("service_dll_refs", Ty::List(&refs(&["file"]))),
        opt(
            "service_type",
            Ty::Enum("windows-service-type-enum", SERVICE_TYPE_ENUM),
        ),
        opt(
            "service_status",
            Ty::Enum("windows-service-status-enum", SERVICE_STATUS_ENUM),
        ),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

static UNIX_ACCOUNT_EXT: StructSpec = StructSpec {
    what: "unix-account-ext extension",
    props: &[
        opt("gid", INT),
        opt("groups", STRINGS),
        opt("home_dir", Ty::String),
        opt("shell", Ty::String),
    ],
    at_least_one: true,
    custom_properties_checked: true,
    rule: None,
};

// ------------------------------------------------------------- object types

const fn sdo(name: &'static str, props: &'static [Prop], rule: Option<Rule>) -> TypeSpec {
    TypeSpec {
        name,
        kind: ObjectKind::Domain,
        props,
        extensions: &[],
        rule,
        uuid_v4_unless: None,
    }
}

const fn sco(
    name: &'static str,
    props: &'static [Prop],
    extensions: &'static [(&'static str, &'static StructSpec)],
    rule: Option<Rule>,
    uuid_v4_unless: Option<&'static [&'static str]>,
) -> TypeSpec {
    TypeSpec {
        name,
        kind: ObjectKind::Observable,
        props,
        extensions,
        rule,
        uuid_v4_unless,
    }
}

static ATTACK_PATTERN: TypeSpec = sdo(
    "attack-pattern",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("aliases", STRINGS),
        opt("kill_chain_phases", KILL_CHAIN_PHASES),
    ],
    None,
);

static CAMPAIGN: TypeSpec = sdo(
    "campaign",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("aliases", STRINGS),
        opt("first_seen", TS),
        opt("last_seen", TS),
        opt("objective", Ty::String),
    ],
    Some(rules::first_last_seen),
);

static COURSE_OF_ACTION: TypeSpec = sdo(
    "course-of-action",
    &[req("name", Ty::String), opt("description", Ty::String)],
    None,
);

static GROUPING: TypeSpec = sdo(
    "grouping",
    &[
        opt("name", Ty::String),
        opt("description", Ty::String),
        req("context", Ty::String),
        req("object_refs", ANY_REFS),
    ],
    None,
);

static IDENTITY: TypeSpec = sdo(
    "identity",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("roles", STRINGS),
        opt("identity_class", Ty::String),
        opt("sectors", STRINGS),
        opt("contact_information", Ty::String),
    ],
    None,
);

static INCIDENT: TypeSpec = sdo(
    "incident",
    &[req("name", Ty::String), opt("description", Ty::String)],
    None,
);

static INDICATOR: TypeSpec = sdo(
    "indicator",
    &[
        opt("name", Ty::String),
        opt("description", Ty::String),
        opt("indicator_types", STRINGS),
        req("pattern", Ty::String),
        req("pattern_type", Ty::String),
        opt("pattern_version", Ty::String),
        req("valid_from", TS),
        opt("valid_until", TS),
        opt("kill_chain_phases", KILL_CHAIN_PHASES),
    ],
    Some(rules::indicator),
);

static INFRASTRUCTURE: TypeSpec = sdo(
    "infrastructure",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("infrastructure_types", STRINGS),
        opt("aliases", STRINGS),
        opt("kill_chain_phases", KILL_CHAIN_PHASES),
        opt("first_seen", TS),
        opt("last_seen", TS),
    ],
    Some(rules::first_last_seen),
);

static INTRUSION_SET: TypeSpec = sdo(
    "intrusion-set",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("aliases", STRINGS),
        opt("first_seen", TS),
        opt("last_seen", TS),
        opt("goals", STRINGS),
        opt("resource_level", Ty::String),
        opt("primary_motivation", Ty::String),
        opt("secondary_motivations", STRINGS),
    ],
    Some(rules::first_last_seen),
);

static LOCATION: TypeSpec = sdo(
    "location",
    &[
        opt("name", Ty::String),
        opt("description", Ty::String),
        opt("latitude", Ty::Float(-90.0, 90.0)),
        opt("longitude", Ty::Float(-180.0, 180.0)),
        opt("precision", Ty::Float(0.0, f64::MAX)),
        opt("region", Ty::String),
        opt("country", Ty::String),
        opt("administrative_area", Ty::String),
        opt("city", Ty::String),
        opt("street_address", Ty::String),
        opt("postal_code", Ty::String),
    ],
    Some(rules::location),
);

static MALWARE: TypeSpec = sdo(
    "malware",
    &[
        opt("name", Ty::String),
        opt("description", Ty::String),
        opt("malware_types", STRINGS),
        req("is_family", Ty::Boolean),
        opt("aliases", STRINGS),
        opt("kill_chain_phases", KILL_CHAIN_PHASES),
        opt("first_seen", TS),
        opt("last_seen", TS),
        opt("operating_system_refs", Ty::List(&refs(SOFTWARE))),
        opt("architecture_execution_envs", STRINGS),
        opt("implementation_languages", STRINGS),
        opt("capabilities", STRINGS),
        opt("sample_refs", Ty::List(&refs(&["file", "artifact"]))),
    ],
    Some(rules::malware),
);

static MALWARE_ANALYSIS: TypeSpec = sdo(
    "malware-analysis",
    &[
        req("product", Ty::String),
        opt("version", Ty::String),
        opt("host_vm_ref", refs(SOFTWARE)),
        opt("operating_system_ref", refs(SOFTWARE)),
        opt("installed_software_refs", Ty::List(&refs(SOFTWARE))),
        opt("configuration_version", Ty::String),
        opt("modules", STRINGS),
        opt("analysis_engine_version", Ty::String),
        opt("analysis_definition_version", Ty::String),
        opt("submitted", TS),
        opt("analysis_started", TS),
        opt("analysis_ended", TS),
        opt("result_name", Ty::String),
        opt("result", Ty::String),
        opt("analysis_sco_refs", ANY_REFS),
        opt("sample_ref", refs(&["file", "network-traffic", "artifact"])),
    ],
    Some(rules::malware_analysis),
);

static NOTE: TypeSpec = sdo(
    "note",
    &[
        opt("abstract", Ty::String),
        req("content", Ty::String),
        opt("authors", STRINGS),
        req("object_refs", ANY_REFS),
    ],
    None,
);

static OBSERVED_DATA: TypeSpec = sdo(
    "observed-data",
    &[
        req("first_observed", TS),
        req("last_observed", TS),
        req("number_observed", Ty::Integer(1, 999_999_999)),
        opt("objects", Ty::ObservableContainer),
        opt("object_refs", Ty::List(&Ty::Ref(Refs::ScoOrSro))),
    ],
    Some(rules::observed_data),
);

static OPINION: TypeSpec = sdo(
    "opinion",
    &[
        opt("explanation", Ty::String),
        opt("authors", STRINGS),
        req("opinion", Ty::Enum("opinion-enum", OPINION_ENUM)),
        req("object_refs", ANY_REFS),
    ],
    None,
);

static REPORT: TypeSpec = sdo(
    "report",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("report_types", STRINGS),
        req("published", TS),
        req("object_refs", ANY_REFS),
    ],
    None,
);

static THREAT_ACTOR: TypeSpec = sdo(
    "threat-actor",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("threat_actor_types", STRINGS),
        opt("aliases", STRINGS),
        opt("first_seen", TS),
        opt("last_seen", TS),
        opt("roles", STRINGS),
        opt("goals", STRINGS),
        opt("sophistication", Ty::String),
        opt("resource_level", Ty::String),
        opt("primary_motivation", Ty::String),
        opt("secondary_motivations", STRINGS),
        opt("personal_motivations", STRINGS),
    ],
    Some(rules::first_last_seen),
);

static TOOL: TypeSpec = sdo(
    "tool",
    &[
        req("name", Ty::String),
        opt("description", Ty::String),
        opt("tool_types", STRINGS),
        opt("aliases", STRINGS),
        opt("kill_chain_phases", KILL_CHAIN_PHASES),
        opt("tool_version", Ty::String),
    ],
    None,
);

static VULNERABILITY: TypeSpec = sdo(
    "vulnerability",
    &[req("name", Ty::String), opt("description", Ty::String)],
    None,
);

static RELATIONSHIP: TypeSpec = TypeSpec {
    name: "relationship",
    kind: ObjectKind::Relationship,
    props: &[
        req("relationship_type", Ty::Text(Syntax::RelationshipType)),
        opt("description", Ty::String),
        req("source_ref", Ty::Ref(Refs::SdoOrSco)),
        req("target_ref", Ty::Ref(Refs::SdoOrSco)),
        opt("start_time", TS),
        opt("stop_time", TS),
    ],
    extensions: &[],
    rule: Some(rules::relationship),
    uuid_v4_unless: None,
};

static SIGHTING: TypeSpec = TypeSpec {
    name: "sighting",
    kind: ObjectKind::Relationship,
    props: &[
        opt("description", Ty::String),
        opt("first_seen", TS),
        opt("last_seen", TS),
        opt("count", Ty::Integer(0, 999_999_999)),
        req("sighting_of_ref", Ty::Ref(Refs::Sdo)),
        opt("observed_data_refs", Ty::List(&refs(&["observed-data"]))),
        opt(
            "where_sighted_refs",
            Ty::List(&refs(&["identity", "location"])),
        ),
        opt("summary", Ty::Boolean),
    ],
    extensions: &[],
    rule: Some(rules::first_last_seen),
    uuid_v4_unless: None,
};

static LANGUAGE_CONTENT: TypeSpec = TypeSpec {
    name: "language-content",
    kind: ObjectKind::Meta,
    props: &[
        req("object_ref", Ty::Ref(Refs::Any)),
        opt("object_modified", TS),
        req("contents", Ty::Object),
    ],
    extensions: &[],
    rule: Some(rules::language_content),
    uuid_v4_unless: None,
};

static MARKING_DEFINITION: TypeSpec = TypeSpec {
    name: "marking-definition",
    kind: ObjectKind::MarkingDefinition,
    props: &[
        opt("name", Ty::String),
        opt("definition_type", Ty::String),
        opt("definition", Ty::Object),
    ],
    extensions: &[],
    rule: Some(rules::marking_definition),
    uuid_v4_unless: None,
};

static EXTENSION_DEFINITION: TypeSpec = TypeSpec {
    name: "extension-definition",
    kind: ObjectKind::Meta,
    props: &[
        req("name", Ty::String),
        opt("description", Ty::String),
        req("schema", Ty::String),
        req("version", Ty::String),
        req(
            "extension_types",
            Ty::List(&Ty::Enum("extension-type-enum", EXTENSION_TYPE_ENUM)),
        ),
        opt(
            "extension_properties",
            Ty::List(&Ty::Text(Syntax::PropertyName)),
        ),
    ],
    extensions: &[],
    rule: Some(rules::extension_definition),
    uuid_v4_unless: None,
};

static ARTIFACT_SCO: TypeSpec = sco(
    "artifact",
    &[
        opt("mime_type", Ty::String),
        opt("payload_bin", Ty::Binary),
        opt("url", Ty::Text(Syntax::Url)),
        opt("hashes", HASHES),
        opt(
            "encryption_algorithm",
            Ty::Enum("encryption-algorithm-enum", ENCRYPTION_ALGORITHM_ENUM),
        ),
        opt("decryption_key", Ty::String),
    ],
    &[],
    Some(rules::artifact),
    Some(&["hashes", "payload_bin"]),
);

static AUTONOMOUS_SYSTEM: TypeSpec = sco(
    "autonomous-system",
    &[
        req("number", INT),
        opt("name", Ty::String),
        opt("rir", Ty::String),
    ],
    &[],
    None,
    None,
);

static DIRECTORY: TypeSpec = sco(
    "directory",
    &[
        req("path", Ty::String),
        opt("path_enc", Ty::Text(Syntax::Charset)),
        opt("ctime", TS),
        opt("mtime", TS),
        opt("atime", TS),
        opt("contains_refs", Ty::List(&refs(FILE_OR_DIRECTORY))),
    ],
    &[],
    None,
    None,
);

static DOMAIN_NAME: TypeSpec = sco(
    "domain-name",
    &[
        req("value", Ty::Text(Syntax::DomainName)),
        opt(
            "resolves_to_refs",
            Ty::List(&refs(&["ipv4-addr", "ipv6-addr", "domain-name"])),
        ),
    ],
    &[],
    None,
    None,
);

static EMAIL_ADDR_SCO: TypeSpec = sco(
    "email-addr",
    &[
        req("value", Ty::Text(Syntax::EmailAddr)),
        opt("display_name", Ty::String),
        opt("belongs_to_ref", refs(USER_ACCOUNT)),
    ],
    &[],
    None,
    None,
);

static EMAIL_MESSAGE: TypeSpec = sco(
    "email-message",
    &[
        req("is_multipart", Ty::Boolean),
        opt("date", TS),
        opt("content_type", Ty::String),
        opt("from_ref", refs(EMAIL_ADDR)),
        opt("sender_ref", refs(EMAIL_ADDR)),
        opt("to_refs", Ty::List(&refs(EMAIL_ADDR))),
        opt("cc_refs", Ty::List(&refs(EMAIL_ADDR))),
        opt("bcc_refs", Ty::List(&refs(EMAIL_ADDR))),
        opt("message_id", Ty::String),
        opt("subject", Ty::String),
        opt("received_lines", STRINGS),
        opt(
            "additional_header_fields",
            Ty::Dict(DictValue::StringOrListOfStrings),
        ),
        opt("body", Ty::String),
        opt("body_multipart", Ty::List(&Ty::Struct(&MIME_PART))),
        opt("raw_email_ref", refs(ARTIFACT)),
    ],
    &[],
    Some(rules::email_message),
    Some(&["from_ref", "subject", "body"]),
);

static FILE: TypeSpec = sco(
    "file",
    &[
        opt("hashes", HASHES),
        opt("size", NON_NEGATIVE),
        opt("name", Ty::String),
        opt("name_enc", Ty::Text(Syntax::Charset)),
        opt("magic_number_hex", Ty::Hex),
        opt("mime_type", Ty::String),
        opt("ctime", TS),
        opt("mtime", TS),
        opt("atime", TS),
        opt("parent_directory_ref", refs(&["directory"])),
        opt("contains_refs", Ty::List(&Ty::Ref(Refs::Sco))),
        opt("content_ref", refs(ARTIFACT)),
    ],
    &[
        ("archive-ext", &ARCHIVE_EXT),
        ("ntfs-ext", &NTFS_EXT),
        ("pdf-ext", &PDF_EXT),
        ("raster-image-ext", &RASTER_IMAGE_EXT),
        ("windows-pebinary-ext", &WINDOWS_PEBINARY_EXT),
    ],
    Some(rules::file),
    None,
);

static IPV4_ADDR: TypeSpec = sco(
    "ipv4-addr",
    &[
        req("value", Ty::Text(Syntax::Ipv4)),
        opt("resolves_to_refs", Ty::List(&refs(&["mac-addr"]))),
        opt("belongs_to_refs", Ty::List(&refs(&["autonomous-system"]))),
    ],
    &[],
    None,
    None,
);

static IPV6_ADDR: TypeSpec = sco(
    "ipv6-addr",
    &[
        req("value", Ty::Text(Syntax::Ipv6)),
        opt("resolves_to_refs", Ty::List(&refs(&["mac-addr"]))),
        opt("belongs_to_refs", Ty::List(&refs(&["autonomous-system"]))),
    ],
    &[],
    None,
    None,
);

static MAC_ADDR: TypeSpec = sco(
    "mac-addr",
    &[req("value", Ty::Text(Syntax::Mac))],
    &[],
    None,
    None,
);

static MUTEX: TypeSpec = sco("mutex", &[req("name", Ty::String)], &[], None, None);

static NETWORK_TRAFFIC_SCO: TypeSpec = sco(
    "network-traffic",
    &[
        opt("start", TS),
        opt("end", TS),
        opt("is_active", Ty::Boolean),
        opt("src_ref", refs(ADDRESSES)),
        opt("dst_ref", refs(ADDRESSES)),
        opt("src_port", Ty::Integer(0, 65535)),
        opt("dst_port", Ty::Integer(0, 65535)),
        req("protocols", STRINGS),
        opt("src_byte_count", NON_NEGATIVE),
        opt("dst_byte_count", NON_NEGATIVE),
        opt("src_packets", NON_NEGATIVE),
        opt("dst_packets", NON_NEGATIVE),
        opt("ipfix", Ty::Dict(DictValue::IntegerOrString)),
        opt("src_payload_ref", refs(ARTIFACT)),
        opt("dst_payload_ref", refs(ARTIFACT)),
        opt("encapsulates_refs", Ty::List(&refs(NETWORK_TRAFFIC))),
        opt("encapsulated_by_ref", refs(NETWORK_TRAFFIC)),
    ],
    &[
        ("http-request-ext", &HTTP_REQUEST_EXT),
        ("icmp-ext", &ICMP_EXT),
        ("socket-ext", &SOCKET_EXT),
        ("tcp-ext", &TCP_EXT),
    ],
    Some(rules::network_traffic),
    None,
);

static PROCESS_SCO: TypeSpec = sco(
    "process",
    &[
        opt("is_hidden", Ty::Boolean),
        opt("pid", INT),
        opt("created_time", TS),
        opt("cwd", Ty::String),
        opt("command_line", Ty::String),
        opt("environment_variables", Ty::Dict(DictValue::String)),
        opt("opened_connection_refs", Ty::List(&refs(NETWORK_TRAFFIC))),
        opt("creator_user_ref", refs(USER_ACCOUNT)),
        opt("image_ref", refs(&["file"])),
        opt("parent_ref", refs(PROCESS)),
        opt("child_refs", Ty::List(&refs(PROCESS))),
    ],
    &[
        ("windows-process-ext", &WINDOWS_PROCESS_EXT),
        ("windows-service-ext", &WINDOWS_SERVICE_EXT),
    ],
    Some(rules::at_least_one_specific_property),
    Some(&[]),
);

static SOFTWARE_SCO: TypeSpec = sco(
    "software",
    &[
        req("name", Ty::String),
        opt("cpe", Ty::Text(Syntax::Cpe)),
        opt("swid", Ty::String),
        opt("languages", Ty::List(&Ty::LangTag)),
        opt("vendor", Ty::String),
        opt("version", Ty::String),
    ],
    &[],
    None,
    None,
);

static URL: TypeSpec = sco(
    "url",
    &[req("value", Ty::Text(Syntax::Url))],
    &[],
    None,
    None,
);

static USER_ACCOUNT_SCO: TypeSpec = sco(
    "user-account",
    &[
        opt("user_id", Ty::String),
        opt("credential", Ty::String),
        opt("account_login", Ty::String),
        opt("account_type", Ty::String),
        opt("display_name", Ty::String),
        opt("is_service_account", Ty::Boolean),
        opt("is_privileged", Ty::Boolean),
        opt("can_escalate_privs", Ty::Boolean),
        opt("is_disabled", Ty::Boolean),
        opt("account_created", TS),
        opt("account_expires", TS),
        opt("credential_last_changed", TS),
        opt("account_first_login", TS),
        opt("account_last_login", TS),
    ],
    &[("unix-account-ext", &UNIX_ACCOUNT_EXT)],
    Some(rules::at_least_one_specific_property),
    Some(&["account_type", "user_id", "account_login"]),
);

static WINDOWS_REGISTRY_KEY: TypeSpec = sco(
    "windows-registry-key",
    &[
        opt("key", Ty::Text(Syntax::RegistryKey)),
        opt("values", Ty::List(&Ty::Struct(&REGISTRY_VALUE))),
        opt("modified_time", TS),
        opt("creator_user_ref", refs(USER_ACCOUNT)),
        opt("number_of_subkeys", INT),
    ],
    &[],
    Some(rules::at_least_one_specific_property),
    Some(&["key", "values"]),
);

static X509_CERTIFICATE: TypeSpec = sco(
    "x509-certificate",
    &[
        opt("is_self_signed", Ty::Boolean),
        opt("hashes", HASHES),
        opt("version", Ty::String),
        opt("serial_number", Ty::String),
        opt("signature_algorithm", Ty::String),
        opt("issuer", Ty::String),
        opt("validity_not_before", TS),
        opt("validity_not_after", TS),
        opt("subject", Ty::String),
        opt("subject_public_key_algorithm", Ty::String),
        opt("subject_public_key_modulus", Ty::String),
        opt("subject_public_key_exponent", INT),
        opt("x509_v3_extensions", Ty::Struct(&X509_V3_EXTENSIONS)),
    ],
    &[],
    Some(rules::at_least_one_specific_property),
    Some(&["hashes", "serial_number"]),
);

/// The specification of a type this node knows, found with one `match` on
/// the name (compiled to a jump on length and bytes, no hashing).
pub(crate) fn lookup(name: &str) -> Option<&'static TypeSpec> {
    Some(match name {
        "attack-pattern" => &ATTACK_PATTERN,
        "campaign" => &CAMPAIGN,
        "course-of-action" => &COURSE_OF_ACTION,
        "grouping" => &GROUPING,
        "identity" => &IDENTITY,
        "incident" => &INCIDENT,
        "indicator" => &INDICATOR,
        "infrastructure" => &INFRASTRUCTURE,
        "intrusion-set" => &INTRUSION_SET,
        "location" => &LOCATION,
        "malware" => &MALWARE,
        "malware-analysis" => &MALWARE_ANALYSIS,
        "note" => &NOTE,
        "observed-data" => &OBSERVED_DATA,
        "opinion" => &OPINION,
        "report" => &REPORT,
        "threat-actor" => &THREAT_ACTOR,
        "tool" => &TOOL,
        "vulnerability" => &VULNERABILITY,
        "relationship" => &RELATIONSHIP,
        "sighting" => &SIGHTING,
        "artifact" => &ARTIFACT_SCO,
        "autonomous-system" => &AUTONOMOUS_SYSTEM,
        "directory" => &DIRECTORY,
        "domain-name" => &DOMAIN_NAME,
        "email-addr" => &EMAIL_ADDR_SCO,
        "email-message" => &EMAIL_MESSAGE,
        "file" => &FILE,
        "ipv4-addr" => &IPV4_ADDR,
        "ipv6-addr" => &IPV6_ADDR,
        "mac-addr" => &MAC_ADDR,
        "mutex" => &MUTEX,
        "network-traffic" => &NETWORK_TRAFFIC_SCO,
        "process" => &PROCESS_SCO,
        "software" => &SOFTWARE_SCO,
        "url" => &URL,
        "user-account" => &USER_ACCOUNT_SCO,
        "windows-registry-key" => &WINDOWS_REGISTRY_KEY,
        "x509-certificate" => &X509_CERTIFICATE,
        "marking-definition" => &MARKING_DEFINITION,
        "language-content" => &LANGUAGE_CONTENT,
        "extension-definition" => &EXTENSION_DEFINITION,
        _ => return None,
    })
}

/// Every type name [`lookup`] knows, for tests and documentation.
#[cfg(test)]
pub(crate) const ALL_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
    "marking-definition",
    "language-content",
    "extension-definition",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_found_under_its_own_name() {
        assert_eq!(ALL_TYPES.len(), 19 + 2 + 18 + 3);
        for name in ALL_TYPES {
            assert_eq!(lookup(name).map(|s| s.name), Some(*name));
        }
        assert!(lookup("x-acme-widget").is_none());
    }
}
