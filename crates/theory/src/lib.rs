//! collop-theory (under construction).
