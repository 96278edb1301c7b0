//! How people are drawn: the drawing mode and the colour of each person.

/// What is drawn for each person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RenderMode {
    /// The lit, depth-tested body surface.
    #[default]
    Solid,
    /// The mesh's edges, hidden lines removed.
    Wireframe,
    /// The 24 posed joints as spheres and the bones between them.
    Skeleton,
}

/// Everything about the look of a frame that the user chooses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub mode: RenderMode,
    /// 0xAARRGGBB (alpha ignored), or [`PALETTE_COLOR`] for one palette colour per person.
    pub color: u32,
    /// Opacity of the overlay, 0 (invisible) to 1 (opaque).
    pub opacity: f32,
}

impl Default for Style {
    fn default() -> Self {
        Self { mode: RenderMode::Solid, color: PALETTE_COLOR, opacity: DEFAULT_OPACITY as f32 }
    }
}

/// The `color` value that selects the palette.
pub const PALETTE_COLOR: u32 = 0;
/// Default overlay opacity: opaque enough to read the body, light enough to see the person.
pub const DEFAULT_OPACITY: f64 = 0.85;

/// Light, well-separated colours that read on most footage; the first is the light blue
/// HMR2's own renderer uses.
pub const PALETTE: [[u8; 3]; 10] = [
    [166, 189, 219],
    [240, 128, 128],
    [128, 222, 170],
    [240, 200, 100],
    [190, 160, 230],
    [250, 180, 130],
    [110, 210, 220],
    [240, 150, 200],
    [190, 225, 110],
    [215, 190, 160],
];

/// RGB colour of a person: the fixed `color`, or the palette entry picked by the track id
/// (stable while the tracker follows the person) or else by the person's index.
pub fn person_color(color: u32, person_index: usize, track_id: Option<u64>) -> [u8; 3] {
    if color != PALETTE_COLOR {
        return [(color >> 16) as u8, (color >> 8) as u8, color as u8];
    }
    let slot = track_id.map_or(person_index, |id| (id % PALETTE.len() as u64) as usize);
    PALETTE[slot % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_color_ignores_alpha_and_index() {
        assert_eq!(person_color(0x80ff2010, 3, Some(7)), [255, 32, 16]);
        assert_eq!(person_color(0xff000000, 0, None), [0, 0, 0]);
    }

    #[test]
    fn palette_follows_track_then_index() {
        assert_eq!(person_color(PALETTE_COLOR, 0, Some(12)), PALETTE[2]);
        assert_eq!(person_color(PALETTE_COLOR, 4, None), PALETTE[4]);
        assert_eq!(person_color(PALETTE_COLOR, 14, None), PALETTE[4]);
    }
}
