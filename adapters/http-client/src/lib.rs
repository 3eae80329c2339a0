//! Tally's http-client adapter (work in progress).
