//! Tally's http adapter (work in progress).
