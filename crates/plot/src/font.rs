//! The one font of every picture, embedded in the binary, and the layout of
//! a line of text in it.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};
use plotters_backend::FontStyle;

use crate::PlotError;

/// DejaVu Sans, regular and bold, from the bytes the `dejavu` crate embeds
/// (Bitstream Vera licence, DejaVu changes in the public domain).
pub(crate) struct Faces {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// The faces, parsed once per process.
pub(crate) fn faces() -> Result<&'static Faces, PlotError> {
    static FACES: OnceLock<Option<Faces>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            Some(Faces {
                regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
                bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
            })
        })
        .as_ref()
        .ok_or_else(|| PlotError::Font("the embedded DejaVu Sans could not be parsed".into()))
}

/// One line of text laid out at a size: glyphs positioned from a pen at
/// the left end of the baseline, which sits `ascent` below the top of the
/// line's box.
pub(crate) struct Line {
    pub(crate) glyphs: Vec<Glyph>,
    /// Advance width of the whole line, pixels.
    pub(crate) width: f32,
    /// `ascent - descent`, pixels.
    pub(crate) height: f32,
}

impl Faces {
    /// The face of a plotters font style (bold, or regular for any other).
    pub(crate) fn face(&self, style: FontStyle) -> &FontRef<'static> {
        match style {
            FontStyle::Bold => &self.bold,
            _ => &self.regular,
        }
    }

    /// Lay out `text` in `face` at `size` pixels (`ascent - descent`, the
    /// plotters convention), with kerning.
    pub(crate) fn line(&self, face: &FontRef<'static>, size: f32, text: &str) -> Line {
        let scaled = face.as_scaled(PxScale::from(size));
        let mut x = 0.0;
        let mut previous = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                x += scaled.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(size, point(x, scaled.ascent())));
            x += scaled.h_advance(id);
            previous = Some(id);
        }
        Line { glyphs, width: x, height: scaled.ascent() - scaled.descent() }
    }
}

/// Width in pixels of `text` in the regular face at `size` pixels.
pub(crate) fn text_width(text: &str, size: u32) -> Result<u32, PlotError> {
    let faces = faces()?;
    Ok(faces.line(&faces.regular, size as f32, text).width.ceil() as u32)
}
