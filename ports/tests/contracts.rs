//! The event contracts hold: the schema of every current version is the file in
//! `contracts/schemas` (so an event cannot change without a new version), every version is
//! published, and every past version has its upcaster and its stored samples.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tally_ports::contracts::{self, UPCASTERS};

/// Set to write the schema file of a new version (never overwrites one).
const BLESS: &str = "TALLY_BLESS_SCHEMAS";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A schema without its words (descriptions, titles) and with its enums sorted: fixing a doc
/// comment or reordering a list is not a change of contract; anything else is.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "description" | "title"))
            .map(|(k, v)| {
                let mut v = shape(v);
                if let (true, Value::Array(a)) = (k == "enum", &mut v) {
                    a.sort_by_key(Value::to_string);
                }
                (k.clone(), v)
            })
            .collect(),
        Value::Array(a) => a.iter().map(shape).collect(),
        v => v.clone(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON") + "\n"
}

/// What to do when an event's payload changed without a new version.
fn changed_without_a_version(t: &str, v: u32, file: &str) -> String {
    format!(
        "\nThe payload of {t} no longer matches its published schema {file}.\n\
         Stored {t} v{v} events are forever; their schema must not change. Either undo the \
         change, or make it a new version:\n\
         1. in the domain, mark the variant `#[version = {next}]` (domain/src/member.rs or \
            job.rs);\n\
         2. add an upcaster {t} v{v} -> v{next} to UPCASTERS in ports/src/contracts.rs;\n\
         3. keep contracts/schemas/{t}.v{v}.json and contracts/samples/{t}/v{v}.json as they \
            are, and add contracts/samples/{t}/v{next}.json;\n\
         4. run `{BLESS}=1 cargo test -p tally-ports --test contracts` to write \
            contracts/schemas/{t}.v{next}.json, then `TALLY_BLESS_SAMPLES=1 cargo test -p \
            tally-memory --test contract stored_samples` to write the samples' expected \
            files; review and commit them.\n\
         See \"Changing an event\" in the README.\n",
        next = v + 1
    )
}

#[test]
fn the_schema_of_every_current_version_is_its_published_file() {
    let mut problems = Vec::new();
    for spec in contracts::current() {
        let (t, v) = (spec.name, spec.version);
        let file = format!("contracts/schemas/{}", contracts::schema_file(t, v));
        let path = root().join("schemas").join(contracts::schema_file(t, v));
        let generated = contracts::generate(spec);
        match read_json(&path) {
            Some(stored) if shape(&stored) == shape(&generated) => {}
            Some(_) => problems.push(changed_without_a_version(t, v, &file)),
            None if std::env::var_os(BLESS).is_some() => {
                std::fs::write(&path, pretty(&generated)).expect("write the schema");
                eprintln!("wrote {file}");
            }
            None => problems.push(format!(
                "\n{t} v{v} has no published schema ({file} is missing). If you just added \
                 this version (or this type), run `{BLESS}=1 cargo test -p tally-ports --test \
                 contracts` to write it, review it and commit it.\n"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.concat());
}

#[test]
fn every_version_is_published_and_every_past_one_upcast_and_sampled() {
    let mut problems = Vec::new();
    for spec in contracts::current() {
        let t = spec.name;
        for v in 1..=spec.version {
            let file = contracts::schema_file(t, v);
            if !root().join("schemas").join(&file).exists() {
                problems.push(format!("contracts/schemas/{file} is missing"));
            }
            let sample = root().join(format!("samples/{t}/v{v}.json"));
            if !sample.exists() {
                problems.push(format!(
                    "contracts/samples/{t}/v{v}.json is missing: every version keeps a \
                     sample of stored events, written once and never edited"
                ));
            }
            let steps = UPCASTERS
                .iter()
                .filter(|u| u.event_type == t && u.from == v)
                .count();
            let wanted = usize::from(v < spec.version);
            if steps != wanted {
                problems.push(format!(
                    "{t} v{v} has {steps} upcasters to v{}; it needs {wanted}",
                    v + 1
                ));
            }
        }
    }
    // Nothing published or upcast that this build does not know.
    for entry in std::fs::read_dir(root().join("schemas")).expect("contracts/schemas") {
        let name = entry.expect("an entry").file_name();
        let name = name.to_string_lossy();
        let known = contracts::current()
            .any(|s| (1..=s.version).any(|v| name == contracts::schema_file(s.name, v).as_str()));
        if !known {
            problems.push(format!(
                "contracts/schemas/{name} is no event type's version"
            ));
        }
    }
    for u in UPCASTERS {
        if contracts::current_version(u.event_type).is_none_or(|v| u.from >= v) {
            problems.push(format!(
                "an upcaster from {} v{} has nowhere to go",
                u.event_type, u.from
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_service_publishes_exactly_the_files() {
    let on_disk = std::fs::read_dir(root().join("schemas"))
        .expect("schemas")
        .count();
    assert_eq!(
        contracts::published().len(),
        on_disk,
        "rebuild: build.rs embeds the files"
    );
    for p in contracts::published() {
        assert_eq!(
            p.schema["$id"],
            contracts::schema_id(p.event_type, p.version)
        );
        assert_eq!(p.schema["$schema"], contracts::DIALECT);
    }
}

/// Every stored sample event matches the schema of its own version, and upcast, the schema
/// of the current version.
#[test]
fn every_sample_matches_its_version_and_upcasts_to_a_valid_current_payload() {
    let mut checked = 0;
    for spec in contracts::current() {
        for v in 1..=spec.version {
            let path = root().join(format!("samples/{}/v{v}.json", spec.name));
            let Some(sample) = read_json(&path) else {
                continue; // named by the test above
            };
            let events = sample["events"].as_array().expect("a sample lists events");
            assert!(
                events
                    .iter()
                    .any(|e| e["type"] == spec.name && e["schema_version"] == v),
                "{} holds no {} v{v} event",
                path.display(),
                spec.name
            );
            for e in events {
                let t = e["type"].as_str().expect("a type");
                let sv =
                    u32::try_from(e["schema_version"].as_u64().expect("a version")).expect("small");
                contracts::check(t, sv, &e["payload"])
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                let mut p = e["payload"].clone();
                let now = contracts::upcast(t, sv, &mut p).expect("upcast");
                contracts::check(t, now, &p)
                    .unwrap_or_else(|err| panic!("{} upcast: {err}", path.display()));
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} sample events");
}
