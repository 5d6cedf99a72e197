//! The SVG chart: the lead's rows as horizontal bars on one log scale, each bar named and
//! labelled with its value, drawn 800 px wide so that its text stays readable at the width a
//! README shows it.

use crate::rows::{Section, Side};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The drawing's width in pixels: about what a README column shows, so text is not scaled
/// down.
const WIDTH: i32 = 800;
/// Left edge of the bars; the implementation's name stands left of it.
const BARS_X: i32 = 160;
/// Right edge of the longest possible bar; the room after it is for its value.
const BARS_END: i32 = WIDTH - 86;
const BAR_H: i32 = 14;
const BAR_GAP: i32 = 3;
/// Characters of a note per line (12 px text).
const NOTE_CHARS: usize = 110;
/// Characters of the subtitle per line (12 px text, from the left margin).
const SUBTITLE_CHARS: usize = 125;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GREY: RGBColor = RGBColor(0x66, 0x66, 0x66);
const RULE: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// The colour of a bar: groupwait stands out, the limits are grey, the peers each keep one
/// colour throughout.
fn colour(name: &str, side: Side) -> RGBColor {
    match (side, name) {
        (Side::Groupwait, _) => RGBColor(0xd9, 0x48, 0x1c),
        (Side::Floor, _) => RGBColor(0xa0, 0xa0, 0xa0),
        (_, n) if n.starts_with("Go") => RGBColor(0x00, 0x7d, 0x9c),
        (_, "crossbeam-utils") => RGBColor(0x6a, 0x3d, 0x9a),
        (_, "Mutex+Condvar") => RGBColor(0xc9, 0x94, 0x00),
        (_, "TaskTracker") => RGBColor(0x1b, 0x9e, 0x77),
        _ => RGBColor(0x5b, 0x8d, 0xb8),
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// A decade's label on the axis: `0.1 ns` ... `100 µs`.
fn decade_label(v: f64) -> String {
    match v {
        v if v < 1.0 => format!("{v} ns"),
        v if v < 1e3 => format!("{v:.0} ns"),
        v if v < 1e6 => format!("{:.0} µs", v / 1e3),
        v => format!("{:.0} ms", v / 1e6),
    }
}

/// Draws `sections` to `path`; `subtitle` says where and how the numbers were taken.
pub fn draw(sections: &[Section], subtitle: &str, path: &Path) {
    let values = || {
        sections
            .iter()
            .flat_map(|s| &s.rows)
            .flat_map(|r| &r.bars)
            .filter_map(|b| b.value)
            .filter(|v| *v > 0.0)
    };
    let lo = 10f64.powf(values().fold(1.0, f64::min).log10().floor());
    let hi = 10f64.powf(values().fold(10.0, f64::max).log10().ceil());
    let x = |v: f64| {
        let f = (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10());
        BARS_X + (f * f64::from(BARS_END - BARS_X)).round() as i32
    };

    // Heights first: the drawing is as tall as its rows.
    let note_lines = |note: &str| {
        if note.is_empty() {
            0
        } else {
            wrap(note, NOTE_CHARS).len()
        }
    };
    let row_h = |bars: usize, note: &str| {
        22 + 16 * note_lines(note) as i32 + bars as i32 * (BAR_H + BAR_GAP) + 12
    };
    let subtitle = wrap(subtitle, SUBTITLE_CHARS);
    let top = 62 + 16 * subtitle.len() as i32; // title, subtitle, axis labels
    let height = top
        + sections
            .iter()
            .map(|s| {
                36 + s
                    .rows
                    .iter()
                    .map(|r| row_h(r.bars.len(), r.note))
                    .sum::<i32>()
            })
            .sum::<i32>()
        + 36; // axis labels and caption at the bottom

    let size = (WIDTH as u32, height as u32);
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).expect("draw");
    let text = |s: &str, at: (i32, i32), px: u32, colour: &RGBColor, anchor: HPos| {
        let style = (FONT, px)
            .into_font()
            .color(colour)
            .pos(Pos::new(anchor, VPos::Center));
        root.draw(&Text::new(s.to_owned(), at, style))
            .expect("text");
    };
    let bold = |s: &str, at: (i32, i32), px: u32| {
        let style = (FONT, px, FontStyle::Bold)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(s.to_owned(), at, style))
            .expect("text");
    };

    bold(
        "groupwait and its peers: median time, log scale, shorter is faster",
        (12, 18),
        17,
    );
    for (i, line) in subtitle.iter().enumerate() {
        text(line, (12, 40 + 16 * i as i32), 12, &GREY, HPos::Left);
    }

    // The decades: a faint line through every section, labelled above and below.
    let mut decades = Vec::new();
    let mut d = lo;
    while d <= hi * 1.001 {
        decades.push(d);
        d *= 10.0;
    }
    for &d in &decades {
        root.draw(&PathElement::new(
            vec![(x(d), top - 8), (x(d), height - 30)],
            RULE,
        ))
        .expect("grid");
        text(&decade_label(d), (x(d), top - 16), 11, &GREY, HPos::Center);
        text(
            &decade_label(d),
            (x(d), height - 20),
            11,
            &GREY,
            HPos::Center,
        );
    }

    let mut y = top;
    for section in sections {
        y += 14;
        bold(section.title, (12, y), 15);
        y += 22;
        for row in &section.rows {
            text(row.label, (12, y + 8), 14, &INK, HPos::Left);
            y += 22;
            if !row.note.is_empty() {
                for line in wrap(row.note, NOTE_CHARS) {
                    text(&line, (12, y + 4), 12, &GREY, HPos::Left);
                    y += 16;
                }
            }
            for bar in &row.bars {
                let mid = y + BAR_H / 2;
                let name_colour = if bar.side == Side::Groupwait {
                    INK
                } else {
                    GREY
                };
                text(bar.name, (BARS_X - 8, mid), 12, &name_colour, HPos::Right);
                match bar.value {
                    Some(v) => {
                        let end = x(v).max(BARS_X + 2);
                        root.draw(&Rectangle::new(
                            [(BARS_X, y), (end, y + BAR_H)],
                            colour(bar.name, bar.side).filled(),
                        ))
                        .expect("bar");
                        let label = crate::format::time(v);
                        text(&label, (end + 5, mid), 12, &INK, HPos::Left);
                    }
                    None => text("not measured", (BARS_X + 4, mid), 12, &GREY, HPos::Left),
                }
                y += BAR_H + BAR_GAP;
            }
            y += 12;
        }
    }
    root.present().expect("write the SVG");
}
