//! A bitmap to draw on, with text set in the embedded font, encoded as PNG
//! and written atomically.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use ab_glyph::Font;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{self, HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

use crate::PlotError;
use crate::font::{self, Faces};

/// The drawing area of a whole picture, or of a part of it.
pub(crate) type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

type BitMapError<'a> = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

/// An RGB bitmap that sets its text itself.
///
/// Every shape goes to plotters' bitmap backend; text is laid out and
/// rasterised here with `ab_glyph`, glyph by glyph at its true position
/// (side bearings and kerning respected), so no system font library is
/// needed.
pub(crate) struct Canvas<'a> {
    bitmap: BitMapBackend<'a>,
    faces: &'static Faces,
}

impl<'a> DrawingBackend for Canvas<'a> {
    type ErrorType = BitMapError<'a>;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.present()
    }

    fn draw_pixel(
        &mut self,
        p: BackendCoord,
        c: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_pixel(p, c)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.fill_polygon(vertices, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.blit_bitmap(pos, size, src)
    }

    /// One line of `text` anchored at `pos` as the style says (left, centre
    /// or right; top, centre or bottom of the line's box), turned by the
    /// style's transform about the anchor.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let face = self.faces.face(style.style());
        let line = self.faces.line(face, style.size() as f32, text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        }
        .round() as i32;
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -line.height / 2.0,
            VPos::Bottom => -line.height,
        }
        .round() as i32;
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut coverage = Vec::new();
        for glyph in line.glyphs {
            let Some(outline) = face.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32 + dx, bounds.min.y as i32 + dy);
            coverage.clear();
            outline.draw(|x, y, c| coverage.push((x as i32 + x0, y as i32 + y0, c)));
            for &(x, y, c) in &coverage {
                let (x, y) = transform.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if c > 0.0 && (0..w as i32).contains(&x) && (0..h as i32).contains(&y) {
                    let c = BackendColor { alpha: colour.alpha * f64::from(c.min(1.0)), rgb: colour.rgb };
                    self.bitmap.draw_pixel((x, y), c)?;
                }
            }
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let face = self.faces.face(style.style());
        let line = self.faces.line(face, style.size() as f32, text);
        Ok((line.width.ceil() as u32, line.height.ceil() as u32))
    }
}

/// Draw a `size = (width, height)` picture with `draw` on a white RGB
/// bitmap in memory and encode it as PNG; the bytes of the PNG file.
pub(crate) fn render(
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), PlotError>,
) -> Result<Vec<u8>, PlotError> {
    let faces = font::faces()?;
    let mut rgb = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, size);
        let root = Canvas { bitmap, faces }.into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    encode_png(&rgb, size)
}

fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>, PlotError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| PlotError::Encode(e.to_string()))?;
    writer.write_image_data(rgb).map_err(|e| PlotError::Encode(e.to_string()))?;
    writer.finish().map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(out)
}

/// Write `bytes` to a hidden temporary file in the folder of `path`, then
/// rename it onto `path`, so that a reader never sees a half-written picture.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    // Distinct temporary names for concurrent writers in one process, too.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_error = |source| PlotError::Io { path: path.to_path_buf(), cause: source };
    let name = path
        .file_name()
        .ok_or_else(|| PlotError::InvalidInput(format!("{} does not name a file", path.display())))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // The name every collop writer gives its temporary files: one left by
    // a killed process is removed by the next owner of the directory.
    let tmp = dir.join(collop_core::temp_name::temp_name(
        &name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ));
    let written = File::create(&tmp).and_then(|file| {
        let mut w = BufWriter::new(file);
        w.write_all(bytes)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the error that matters is the one reported.
        let _ = fs::remove_file(&tmp);
        return Err(io_error(e));
    }
    Ok(())
}

/// Height of the band that holds a picture's title.
pub(crate) const TITLE_BAND: u32 = 52;

/// Draw `title` centred in a band at the top of `root`; the rest of `root`.
pub(crate) fn below_title<'a>(root: &Area<'a>, title: &str) -> Result<Area<'a>, PlotError> {
    let (w, _) = root.dim_in_pixel();
    let style =
        crate::style::bold(crate::style::TITLE_SIZE).pos(text_anchor::Pos::new(HPos::Center, VPos::Center));
    root.draw_text(title, &style, ((w / 2) as i32, (TITLE_BAND / 2) as i32))?;
    Ok(root.split_vertically(TITLE_BAND).1)
}

/// The part of `area` at `offset` (pixels from its top-left corner) of `size`.
pub(crate) fn sub<'a>(area: &Area<'a>, offset: (i32, i32), size: (u32, u32)) -> Area<'a> {
    area.clone().shrink(offset, size)
}
