//! RFC 8785 (JCS): the examples of the RFC, relay re-encodings that must
//! not change the canonical form, value changes that must, and a property
//! test against an independent implementation (`serde_json_canonicalizer`).

use proptest::prelude::*;
use provenance::canonicalize;

fn canon(raw: &str) -> String {
    String::from_utf8(canonicalize(raw).expect("canonicalisable")).expect("UTF-8")
}

/// RFC 8785 §3.2.2: the example with numbers, a string of escapes and literals.
#[test]
fn rfc8785_section_3_2_2_example() {
    let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let expected = concat!(
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#,
        "\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
    );
    assert_eq!(canon(input), expected);
}

/// RFC 8785 §3.2.3: member names sorted by UTF-16 code units.
#[test]
fn rfc8785_section_3_2_3_sorting_example() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let expected = concat!(
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",",
        "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",",
        "\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
    assert_eq!(canon(input), expected);
}

/// RFC 8785 §3.2.4: the canonical form is UTF-8; the sample's bytes.
#[test]
fn rfc8785_section_3_2_4_utf8_example() {
    let bytes = canonicalize(r#"{"Unnormalized Unicode":"A\u030a"}"#).expect("JSON");
    let expected: &[u8] = &[
        0x7b, 0x22, 0x55, 0x6e, 0x6e, 0x6f, 0x72, 0x6d, 0x61, 0x6c, 0x69, 0x7a, 0x65, 0x64, 0x20,
        0x55, 0x6e, 0x69, 0x63, 0x6f, 0x64, 0x65, 0x22, 0x3a, 0x22, 0x41, 0xcc, 0x8a, 0x22, 0x7d,
    ];
    assert_eq!(bytes, expected);
}

/// RFC 8785 Appendix B: IEEE-754 doubles and their ECMAScript form.
#[test]
fn rfc8785_appendix_b_numbers() {
    let table: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for &(bits, expected) in table {
        let value = f64::from_bits(bits);
        // Through the parser: Rust's shortest round-trip text of the double
        // (itself a valid JSON number) must come out in ECMAScript form.
        let input = format!("[{value:e}]");
        assert_eq!(
            canon(&input),
            format!("[{expected}]"),
            "double {bits:016x} read from {input}"
        );
        // And the expected text is itself canonical.
        assert_eq!(canon(&format!("[{expected}]")), format!("[{expected}]"));
    }
}

#[test]
fn numbers_have_one_form_whatever_their_spelling() {
    assert_eq!(canon("[1, 1.0, 1e0, 10e-1, 0.1e1, 1.000]"), "[1,1,1,1,1,1]");
    assert_eq!(canon("[-0, -0.0, 0e10]"), "[0,0,0]");
    // Integers are doubles: beyond 2^53 they round as in JavaScript.
    assert_eq!(canon("[9007199254740993]"), "[9007199254740992]");
    assert_eq!(canon("[100000000000000000000000]"), "[1e+23]");
}

#[test]
fn string_escapes_follow_json_stringify() {
    assert_eq!(
        canon(r#"["\u0000\u001f\u007f\u2028\/\b\f\n\r\t\u00e9"]"#),
        "[\"\\u0000\\u001f\u{7f}\u{2028}/\\b\\f\\n\\r\\t\u{e9}\"]"
    );
}

const STIX: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-11-30T10:15:00.000Z","modified":"2026-11-30T10:15:00.000Z","name":"Spyware C2 – é","pattern":"[domain-name:value = 'c2.example.net']","pattern_type":"stix","valid_from":"2026-11-30T10:15:00Z","confidence":85,"labels":["spyware"]}"#;

#[test]
fn a_relay_that_re_encodes_changes_nothing() {
    let canonical = canon(STIX);
    // Pretty-printed, keys reordered (serde_json's map sorts them), a number
    // written as a decimal, a character escaped, "/" escaped.
    let value: serde_json::Value = serde_json::from_str(STIX).expect("JSON");
    let pretty = serde_json::to_string_pretty(&value).expect("serialises");
    assert_eq!(canon(&pretty), canonical);
    let respelled = STIX
        .replace("\"confidence\":85", "\"confidence\":85.0")
        .replace('é', "\\u00e9")
        .replace("\"spec_version\":\"2.1\",", "")
        .replace("{\"type\"", "{\"spec_version\" : \"2.1\",\r\n \"type\"");
    assert_ne!(respelled, STIX);
    assert_eq!(canon(&respelled), canonical);
}

#[test]
fn a_relay_that_changes_a_value_changes_the_canonical_form() {
    let canonical = canon(STIX);
    for changed in [
        STIX.replace("\"confidence\":85", "\"confidence\":86"),
        STIX.replace("\"confidence\":85", "\"confidence\":\"85\""),
        STIX.replace("c2.example.net", "c2.example.org"),
        STIX.replace("[\"spyware\"]", "[\"spyware\",\"x\"]"),
        STIX.replace("2026-11-30T10:15:00Z", "2026-11-30T10:15:00.000Z"),
        STIX.replace("\"labels\"", "\"label\""),
        STIX.replace('é', "e\u{301}"),
    ] {
        assert_ne!(canon(&changed), canonical, "{changed}");
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        (-1.0e6..1.0e6f64).prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::String),
        "[\\u{0}-\\u{7f}\\u{e000}-\\u{ffff}\\u{10000}-\\u{10ffff}]{0,6}"
            .prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                "[a-z\\u{e000}-\\u{e00f}\\u{1f600}-\\u{1f60f}_]{0,4}",
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_serde_json_canonicalizer(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).expect("serialises")
        } else {
            serde_json::to_string(&value).expect("serialises")
        };
        let ours = String::from_utf8(canonicalize(&text).expect("canonicalisable")).expect("UTF-8");
        let theirs = serde_json_canonicalizer::pipe(&text).expect("canonicalisable");
        prop_assert_eq!(&ours, &theirs);
        // The canonical form is a fixed point.
        prop_assert_eq!(canon(&ours), ours);
    }
}
