//! collop-io (under construction).
