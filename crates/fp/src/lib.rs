//! collop-fp (under construction).
