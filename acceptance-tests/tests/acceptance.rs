//! Runs every acceptance scenario once per target named in `TALLY_TARGET` (a comma-separated
//! list; `memory` when unset), and exits 1 if any scenario failed or was skipped.
//!
//! `cargo test -p tally-acceptance -- --tags '@concurrency'` filters by tags, `--name <regex>`
//! by scenario name, and a bare word (as `cargo test <filter>` passes it) keeps the scenarios
//! whose feature or scenario name contains it.
#![forbid(unsafe_code)]

use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, cli};
use futures::FutureExt as _;
use std::io::Write as _;
use std::process::ExitCode;
use tally_acceptance::{TallyWorld, Target};

/// Arguments cargo and test tools pass to every test binary, which cucumber's own CLI would
/// otherwise refuse (breaking `cargo test <filter>` and `cargo test -- --nocapture`).
#[derive(cli::Args, Clone, Debug, Default)]
struct CargoArgs {
    /// Keeps only scenarios whose feature or scenario name contains this text.
    #[arg(value_name = "FILTER")]
    filter: Option<String>,
    /// Accepted for libtest compatibility; output is never captured.
    #[arg(long, hide = true)]
    nocapture: bool,
    /// Accepted for libtest compatibility.
    #[arg(long, short = 'q', hide = true)]
    quiet: bool,
    /// Accepted for libtest compatibility (the filter is matched as a substring).
    #[arg(long, hide = true)]
    exact: bool,
    /// Accepted for libtest compatibility; use `--concurrency` instead.
    #[arg(long, hide = true, value_name = "N")]
    test_threads: Option<String>,
    /// Accepted for libtest compatibility; no scenario is ignored.
    #[arg(long, hide = true)]
    include_ignored: bool,
    /// Accepted for libtest compatibility; no scenario is ignored, so none runs.
    #[arg(long, hide = true)]
    ignored: bool,
}

type Opts = cli::Opts<
    cucumber::parser::basic::Cli,
    cucumber::runner::basic::Cli,
    cucumber::writer::basic::Cli,
    CargoArgs,
>;

/// Scenario counts of one target's run.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    passed: usize,
    failed: usize,
}

async fn run(target: Target, opts: &Opts) -> Tally {
    let mut opts = opts.clone();
    // A `--tags` or `--name` filter given to cucumber would replace the target's exclusions
    // (cucumber 0.23 applies them instead of `filter_run`'s closure), so they are combined here.
    let tags = opts.tags_filter.take();
    let name = opts.re_filter.take();
    let text = opts.custom.filter.clone();
    let ignored_only = opts.custom.ignored;
    let filter = move |f: &cucumber::gherkin::Feature,
                       r: Option<&cucumber::gherkin::Rule>,
                       s: &cucumber::gherkin::Scenario| {
        let all = f
            .tags
            .iter()
            .chain(r.iter().flat_map(|r| &r.tags))
            .chain(&s.tags);
        !ignored_only
            && target.runs(all.clone())
            && tags.as_ref().is_none_or(|t| t.eval(all))
            && name.as_ref().is_none_or(|re| re.is_match(&s.name))
            && text
                .as_ref()
                .is_none_or(|x| s.name.contains(x.as_str()) || f.name.contains(x.as_str()))
    };

    let started = std::time::Instant::now();
    let mut cucumber = TallyWorld::cucumber()
        .before(move |feature, _, scenario, w| {
            if target == Target::Browser {
                tally_acceptance::browser::scenario_starts(&feature.name, &scenario.name);
            }
            async move {
                if let Err(e) = w.start(target).await {
                    panic!("{e:#}");
                }
            }
            .boxed_local()
        })
        .after(|_, _, _, _, w| {
            async move {
                if let Some(w) = w
                    && let Err(e) = w.stop().await
                {
                    panic!("tearing down the backend: {e:#}");
                }
            }
            .boxed_local()
        });
    if let Some(n) = target.max_concurrent_scenarios() {
        cucumber = cucumber.max_concurrent_scenarios(n);
    }
    let result = cucumber
        .fail_on_skipped()
        .with_cli(opts)
        .filter_run(concat!(env!("CARGO_MANIFEST_DIR"), "/features"), filter)
        .await;

    let (sc, st) = (result.scenarios_stats(), result.steps_stats());
    // A failed hook already fails its scenario; a feature file that does not parse has no
    // scenarios to count, so it counts as one failure.
    let tally = Tally {
        passed: sc.passed,
        failed: sc.failed + sc.skipped + result.parsing_errors(),
    };
    let mut line = format!(
        "acceptance[{target}]: {} scenarios ({}) in {:.1} s",
        sc.total(),
        counts(sc.passed, sc.failed, sc.skipped),
        started.elapsed().as_secs_f64()
    );
    line += &format!(
        ", {} steps ({})",
        st.total(),
        counts(st.passed, st.failed, st.skipped)
    );
    if result.parsing_errors() + result.hook_errors() > 0 {
        line += &format!(
            ", {} parsing errors, {} hook errors",
            result.parsing_errors(),
            result.hook_errors()
        );
    }
    println!("{line}");
    tally
}

fn counts(passed: usize, failed: usize, skipped: usize) -> String {
    let mut parts = vec![format!("{passed} passed")];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    parts.join(", ")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let opts = Opts::parsed();
    let targets = match Target::parse_list(std::env::var("TALLY_TARGET").ok().as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("acceptance: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Started after the arguments are parsed (clap's exit would leak the process), once for
    // the run, and stopped before exiting.
    let browser = if targets.contains(&Target::Browser) {
        match tally_acceptance::browser::start().await {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("acceptance[browser]: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut total = Tally::default();
    for target in targets {
        let t = run(target, &opts).await;
        total.passed += t.passed;
        total.failed += t.failed;
    }
    if let Some(b) = browser
        && let Err(e) = b.shutdown().await
    {
        eprintln!("acceptance[browser]: {e:#}");
        total.failed += 1;
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    let _ = std::io::stdout().flush();
    if total.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
