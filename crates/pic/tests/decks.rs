//! The decks shipped with the crate parse and validate.

#[test]
fn shipped_decks_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("decks");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let deck =
                collop_pic::Deck::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let d = deck.validate().unwrap();
            // The resolved deck written into a run directory reads back the same.
            assert_eq!(collop_pic::Deck::from_toml(&deck.to_toml()).unwrap(), deck, "{}", path.display());
            assert!(d.courant < 1.0 && d.particles > 0, "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 2);
    let missing = collop_pic::Deck::from_file(dir.join("no-such-deck.toml")).unwrap_err();
    assert!(matches!(missing, collop_pic::PicError::Io { .. }), "{missing}");
}
