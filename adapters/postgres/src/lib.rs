//! Tally's postgres adapter (work in progress).
