//! The published test vectors of draft-ietf-lamps-pq-composite-sigs-19
//! (appendix "Test Vectors", file `src/testvectors.json` of the draft's
//! repository), checked for `id-MLDSA65-Ed25519-SHA512` and for the
//! standalone `id-ML-DSA-65` keys.
//!
//! The vector file is third-party data and is not kept in this repository.
//! The test reads it from `$COMPOSITE_SIGS_VECTORS`, or else from
//! `shared/vectors/draft-ietf-lamps-pq-composite-sigs-19-testvectors.json`
//! beside the repository; it is `#[ignore]`d so that a checkout without the
//! file still passes. Run it with
//!
//! ```text
//! COMPOSITE_SIGS_VECTORS=/path/to/testvectors.json \
//!   cargo test -p provenance --test composite_vectors -- --ignored
//! ```

use std::path::PathBuf;

use aws_lc_rs::signature::{
    KeyPair, ML_DSA_65, ML_DSA_65_SIGNING, PqdsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use provenance::composite::{PublicKey, Signature, SigningKey, VerifyError};

fn vectors_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COMPOSITE_SIGS_VECTORS") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/draft-ietf-lamps-pq-composite-sigs-19-testvectors.json")
}

struct Vectors {
    m: Vec<u8>,
    ctx: Vec<u8>,
    tests: Vec<serde_json::Value>,
}

fn load() -> Vectors {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the draft's test vectors at {}: {e} (set COMPOSITE_SIGS_VECTORS)",
            path.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("the vector file is JSON");
    let b64 = |v: &serde_json::Value| {
        STANDARD
            .decode(v.as_str().expect("a string"))
            .expect("base64")
    };
    Vectors {
        m: b64(&json["m"]),
        ctx: b64(&json["ctx"]),
        tests: json["tests"].as_array().expect("a test list").clone(),
    }
}

fn case<'a>(v: &'a Vectors, id: &str) -> &'a serde_json::Value {
    v.tests
        .iter()
        .find(|t| t["tcId"] == id)
        .unwrap_or_else(|| panic!("no test case {id}"))
}

fn field(t: &serde_json::Value, name: &str) -> Vec<u8> {
    STANDARD
        .decode(t[name].as_str().expect("a string"))
        .expect("base64")
}

#[test]
#[ignore = "needs the draft's test-vector file; see the module doc"]
fn mldsa65_ed25519_sha512_vectors() {
    let v = load();
    assert_eq!(v.m, b"The quick brown fox jumps over the lazy dog.");
    let t = case(&v, "id-MLDSA65-Ed25519-SHA512");

    // Key generation from the serialised private key gives the published key.
    let key = SigningKey::from_private_key_bytes(&field(t, "sk")).expect("64-byte private key");
    let pk = PublicKey::from_bytes(&field(t, "pk")).expect("1984-byte public key");
    assert_eq!(key.public_key(), &pk);

    // The published signatures verify, without and with an application context.
    let s = Signature::from_bytes(&field(t, "s")).expect("3373-byte signature");
    let s_ctx = Signature::from_bytes(&field(t, "sWithContext")).expect("3373-byte signature");
    assert_eq!(pk.verify(&v.m, b"", &s), Ok(()));
    assert_eq!(pk.verify(&v.m, &v.ctx, &s_ctx), Ok(()));
    // ... and only under their own context.
    assert_eq!(pk.verify(&v.m, &v.ctx, &s), Err(VerifyError::Both));
    assert_eq!(pk.verify(&v.m, b"", &s_ctx), Err(VerifyError::Both));

    // Ed25519 is deterministic: our half must equal the published half
    // byte for byte, which pins M' (prefix, label, len(ctx), ctx, SHA-512).
    let ours = key.sign(&v.m, b"").expect("signs");
    assert_eq!(&ours.as_bytes()[3309..], &s.as_bytes()[3309..]);
    let ours_ctx = key.sign(&v.m, &v.ctx).expect("signs");
    assert_eq!(&ours_ctx.as_bytes()[3309..], &s_ctx.as_bytes()[3309..]);
    // ML-DSA is hedged here, so its half differs, but must verify.
    assert_eq!(pk.verify(&v.m, b"", &ours), Ok(()));
    assert_eq!(pk.verify(&v.m, &v.ctx, &ours_ctx), Ok(()));
}

#[test]
#[ignore = "needs the draft's test-vector file; see the module doc"]
fn standalone_mldsa65_vectors_agree_with_aws_lc_rs() {
    let v = load();
    let t = case(&v, "id-ML-DSA-65");
    let seed = field(t, "sk");
    let kp = PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, &seed).expect("32-byte seed");
    assert_eq!(kp.public_key().as_ref(), field(t, "pk").as_slice());
    UnparsedPublicKey::new(&ML_DSA_65, field(t, "pk"))
        .verify(&v.m, &field(t, "s"))
        .expect("the empty-context ML-DSA-65 signature verifies");
}
