//! The format of a cached state, derived from the state type itself.
//!
//! The format is a hash of the type's serde shape (field names, types and enum variants, as
//! traced by `serde-reflection`), so that changing a state struct changes the format with no
//! number to bump: old cache rows no longer match, are ignored, rebuilt from the events and
//! overwritten.

use serde::de::DeserializeOwned;
use serde_reflection::{Samples, Tracer, TracerConfig};

/// The format of type `T`: `<type name>/<16 hex digits of a hash of its shape>`.
///
/// # Panics
/// If `T` cannot be traced (a deserializer that rejects every sample). Tally's state types
/// are plain data and always trace; a test checks it.
pub fn format_of<T: DeserializeOwned>() -> String {
    let shape = format!("{:?}", trace::<T>());
    let name = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("state");
    format!("{name}/{:016x}", fnv1a(shape.as_bytes()))
}

/// Traces `T` until every enum in it, nested ones included, has all its variants.
/// `serde-reflection` only completes nested enums when told their names, which it reports
/// when a registry is incomplete: so trace again, naming them, until it is complete.
fn trace<T: DeserializeOwned>() -> serde_reflection::Registry {
    let samples = Samples::new();
    let mut nested: Vec<String> = Vec::new();
    for _ in 0..8 {
        let mut tracer = Tracer::new(TracerConfig::default());
        for _ in 0..64 {
            tracer
                .trace_type_once::<T>(&samples)
                .expect("state types can be traced");
            let mut progressed = false;
            for n in &nested {
                progressed |= tracer.check_incomplete_enum(n).is_some();
            }
            if !progressed {
                break;
            }
        }
        match tracer.registry() {
            Ok(r) => return r,
            Err(serde_reflection::Error::MissingVariants(names)) => nested.extend(names),
            Err(e) => panic!("state types trace completely: {e}"),
        }
    }
    panic!("state types trace completely: still missing variants of {nested:?}");
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `std`'s hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use tally_domain::{Job, Wallet};

    #[test]
    fn state_types_have_stable_distinct_formats() {
        let w = format_of::<Wallet>();
        assert_eq!(w, format_of::<Wallet>());
        assert!(w.starts_with("Wallet/"));
        assert_ne!(w, format_of::<Job>());
    }

    #[test]
    fn changing_a_struct_changes_its_format() {
        mod v1 {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct S {
                pub a: u64,
            }
        }
        mod v2 {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct S {
                pub a: u64,
                pub b: Option<String>,
            }
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum E1 {
            A,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum E2 {
            A,
            B,
        }
        assert_ne!(format_of::<v1::S>(), format_of::<v2::S>());
        assert_ne!(format_of::<E1>(), format_of::<E2>());
        // An enum nested in a map inside an option inside a struct counts too.
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct N1 {
            m: Option<std::collections::BTreeMap<String, E1>>,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct N2 {
            m: Option<std::collections::BTreeMap<String, E2>>,
        }
        assert_eq!(
            format_of::<N1>().split('/').nth(1),
            format_of::<N1>().split('/').nth(1)
        );
        let strip = |s: String| s.split('/').nth(1).unwrap().to_owned();
        assert_ne!(strip(format_of::<N1>()), strip(format_of::<N2>()));
    }
}
