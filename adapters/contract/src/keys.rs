//! The key-store contract: every [`KeyStore`] keeps, agrees on, deletes and re-wraps data keys
//! so that [`DataKeys`] seals, opens, forgets and rotates over it.

use std::sync::Arc;
use tally_ports::keys::{DataKeys, KeyStore, MasterKey, SEALED_PREFIX};

/// Runs every key-store contract test on the store `$make` (an async expression giving an
/// `Arc<dyn KeyStore>`, fresh and empty, kept alive by whatever it holds).
#[macro_export]
macro_rules! keys_contract_tests {
    ($make:expr) => {
        $crate::keys_contract_tests!(@each $make;
            a_sealed_field_opens_for_its_subject_only,
            a_forgotten_subject_fields_open_to_nothing,
            rotating_the_master_key_rewraps_every_key,
            two_services_making_a_subject_key_at_once_agree_on_it,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make.await;
                $crate::keys::$name(store).await;
            }
        )*
    };
}

fn master() -> MasterKey {
    MasterKey::generate().expect("randomness")
}

/// Sealed text is not the plaintext, opens for its subject, and not under another's name.
pub async fn a_sealed_field_opens_for_its_subject_only(store: Arc<dyn KeyStore>) {
    let m = master();
    let keys = DataKeys::new(store.clone(), m.clone());
    let sealed = keys.seal("alice", "Alice Liddell").await.unwrap();
    assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
    assert!(!sealed.contains("Alice"), "{sealed}");
    // Sealed twice, two different texts (random nonces).
    assert_ne!(sealed, keys.seal("alice", "Alice Liddell").await.unwrap());
    assert_eq!(
        keys.open(&sealed).await.unwrap().as_deref(),
        Some("Alice Liddell")
    );
    // A copy under another subject's name does not open (the subject is bound in).
    keys.seal("bobby", "Bob").await.unwrap();
    let relabelled = sealed.replacen("sealed:v1:alice:", "sealed:v1:bobby:", 1);
    assert_ne!(relabelled, sealed);
    assert!(keys.open(&relabelled).await.is_err());
    // Text stored before encryption reads as it is.
    assert_eq!(
        keys.open("plain old text").await.unwrap().as_deref(),
        Some("plain old text")
    );
    // The stored key is wrapped: not the key itself, and another service with the same
    // master key opens what this one sealed.
    let again = DataKeys::new(store.clone(), m);
    assert_eq!(
        again.open(&sealed).await.unwrap().as_deref(),
        Some("Alice Liddell")
    );
}

/// Deleting a subject's key leaves their sealed fields unreadable, in this service and any
/// other; other subjects are untouched.
pub async fn a_forgotten_subject_fields_open_to_nothing(store: Arc<dyn KeyStore>) {
    let m = master();
    let keys = DataKeys::new(store.clone(), m.clone());
    let alice = keys.seal("alice", "Alice").await.unwrap();
    let bobby = keys.seal("bobby", "Bob").await.unwrap();
    let other = DataKeys::new(store.clone(), m);
    assert_eq!(other.open(&alice).await.unwrap().as_deref(), Some("Alice"));
    assert!(keys.forget("alice").await.unwrap());
    assert!(!keys.forget("alice").await.unwrap(), "forgotten once");
    assert_eq!(keys.open(&alice).await.unwrap(), None);
    assert!(store.key("alice").await.unwrap().is_none());
    // A fresh service (no key held in memory) finds nothing either.
    let fresh = DataKeys::new(store.clone(), master());
    assert_eq!(fresh.open(&alice).await.unwrap(), None);
    assert_eq!(keys.open(&bobby).await.unwrap().as_deref(), Some("Bob"));
}

/// A rotation re-wraps every data key with the new master key: the fields sealed before open
/// with it, and no longer with the old one; a second run finds nothing left to do.
pub async fn rotating_the_master_key_rewraps_every_key(store: Arc<dyn KeyStore>) {
    let (old, new) = (master(), master());
    let keys = DataKeys::new(store.clone(), old.clone());
    let sealed: Vec<(String, String)> = {
        let mut v = Vec::new();
        for s in ["alice", "bobby", "carol"] {
            v.push((
                s.to_owned(),
                keys.seal(s, &format!("{s}'s name")).await.unwrap(),
            ));
        }
        v
    };
    let before = store.keys().await.unwrap();
    assert!(before.iter().all(|(_, k)| k.master == old.id()));
    assert_eq!(keys.rotate(&new).await.unwrap(), 3);
    let after = store.keys().await.unwrap();
    assert!(after.iter().all(|(_, k)| k.master == new.id()), "{after:?}");
    for ((s, b), (_, a)) in before.iter().zip(&after) {
        assert_ne!(b.wrapped, a.wrapped, "{s}'s key was not re-wrapped");
    }
    let rotated = DataKeys::new(store.clone(), new.clone());
    for (s, field) in &sealed {
        assert_eq!(
            rotated.open(field).await.unwrap().as_deref(),
            Some(format!("{s}'s name").as_str())
        );
    }
    // The old master key opens nothing any more (its error says what to do).
    let stale = DataKeys::new(store.clone(), old);
    let e = stale.open(&sealed[0].1).await.unwrap_err();
    assert!(e.to_string().contains("rotate-master-key"), "{e}");
    // Again with the new key configured: nothing left to re-wrap.
    assert_eq!(rotated.rotate(&new).await.unwrap(), 0);
}

/// Two services creating the same subject's key at once end with one key, and each opens
/// what the other sealed.
pub async fn two_services_making_a_subject_key_at_once_agree_on_it(store: Arc<dyn KeyStore>) {
    let m = master();
    let (a, b) = (
        Arc::new(DataKeys::new(store.clone(), m.clone())),
        Arc::new(DataKeys::new(store.clone(), m)),
    );
    let (sa, sb) = tokio::join!(a.seal("dave", "from a"), b.seal("dave", "from b"));
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    assert_eq!(b.open(&sa).await.unwrap().as_deref(), Some("from a"));
    assert_eq!(a.open(&sb).await.unwrap().as_deref(), Some("from b"));
    assert_eq!(store.keys().await.unwrap().len(), 1);
}
