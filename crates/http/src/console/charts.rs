//! Charts drawn on the server as SVG: stacked bars per day, and the small
//! graph of an object's relationships. Every text put into the SVG is
//! escaped here (maud does not see inside); every shape carries its data
//! (`data-day`, `data-series`, `data-count`) and a `<title>` for tooltips
//! and screen readers, and each chart comes with a table of its figures.

use std::fmt::Write;

/// Escapes text for SVG/XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One series of a stacked bar chart: its name, CSS class, count per day.
pub(crate) struct Series<'a> {
    pub name: String,
    pub class: &'a str,
    pub counts: Vec<u64>,
}

/// A stacked bar chart: one bar per day (labelled by `day_labels`), one
/// stacked segment per series.
pub(crate) fn stacked_bars(label: &str, day_labels: &[String], series: &[Series<'_>]) -> String {
    let days = day_labels.len().max(1);
    let (width, height, left, bottom, top) = (900.0_f64, 220.0_f64, 40.0, 30.0, 10.0);
    let plot_w = width - left - 10.0;
    let plot_h = height - bottom - top;
    let totals: Vec<u64> = (0..days)
        .map(|d| {
            series
                .iter()
                .map(|s| s.counts.get(d).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    // A round scale: 1, 2, 5 × 10^n.
    let mut scale = 1u64;
    while scale < max {
        scale = match scale.to_string().chars().next() {
            Some('1') => scale * 2,
            Some('2') => scale / 2 * 5,
            _ => scale * 2,
        };
    }
    let bar_w = plot_w / days as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(label)
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="grey"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="grey"/>"#,
        top + plot_h,
        top + plot_h,
        width - 10.0,
        top + plot_h
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{scale}</text><text x="{}" y="{}" text-anchor="end">0</text>"#,
        left - 4.0,
        top + 10.0,
        left - 4.0,
        top + plot_h
    );
    for (d, day) in day_labels.iter().enumerate() {
        let x = left + d as f64 * bar_w;
        let mut y = top + plot_h;
        for s in series {
            let n = s.counts.get(d).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = plot_h * n as f64 / scale as f64;
            y -= h;
            let _ = write!(
                svg,
                // The figures are in the table beside the chart; the
                // attributes carry them for tools (and the parity tests).
                r#"<rect class="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" data-day="{}" data-series="{}" data-count="{n}"/>"#,
                esc(s.class),
                x + 1.0,
                y,
                (bar_w - 2.0).max(1.0),
                h,
                esc(day),
                esc(&s.name)
            );
        }
        // A date under the first bar, every week, and the last.
        if d == 0 || d + 1 == days || (days > 10 && d % 7 == 0) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                height - 10.0,
                esc(day.get(5..).unwrap_or(day))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A node of the relationship graph.
pub(crate) struct GraphNode {
    pub label: String,
    pub href: Option<String>,
    /// The relationship type on the edge, and whether it points to the centre.
    pub edge: String,
    pub inward: bool,
}

/// The object at the centre and its related objects on a circle around
/// it; each label says the relationship and its direction, and sits on the
/// outer side of its node so that labels do not cross the edges.
pub(crate) fn relationship_graph(centre: &str, nodes: &[GraphNode]) -> String {
    let (w, h) = (1160.0_f64, 600.0_f64);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (rx, ry) = (260.0, 230.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart graph" viewBox="0 0 {w} {h}" role="img" aria-label="Relationships of {}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(centre)
    );
    let n = nodes.len().max(1) as f64;
    for (i, node) in nodes.iter().enumerate() {
        let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        let (x, y) = (cx + rx * a.cos(), cy + ry * a.sin());
        let _ = write!(
            svg,
            r#"<line x1="{cx:.1}" y1="{cy:.1}" x2="{x:.1}" y2="{y:.1}"/>"#
        );
        let anchor = if a.cos() > 0.3 {
            "start"
        } else if a.cos() < -0.3 {
            "end"
        } else {
            "middle"
        };
        let (lx, ly) = match anchor {
            "start" => (x + 14.0, y + 4.0),
            "end" => (x - 14.0, y + 4.0),
            _ if a.sin() < 0.0 => (x, y - 16.0),
            _ => (x, y + 24.0),
        };
        let relation = if node.inward {
            format!("{} this", node.edge)
        } else {
            format!("this {}", node.edge)
        };
        let circle = format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="8"/>"#);
        let text = format!(
            r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}"><tspan font-weight="700">{}</tspan><tspan x="{lx:.1}" dy="13">{}</tspan></text>"#,
            esc(&super::page::short(&node.label, 34)),
            esc(&relation)
        );
        match &node.href {
            Some(href) => {
                let _ = write!(svg, r#"<a href="{}">{circle}{text}</a>"#, esc(href));
            }
            None => {
                svg.push_str(&circle);
                svg.push_str(&text);
            }
        }
    }
    let _ = write!(
        svg,
        r#"<circle class="self" cx="{cx}" cy="{cy}" r="12"/><text x="{cx}" y="{:.1}" text-anchor="middle" font-weight="700">{}</text></svg>"#,
        cy + 28.0,
        esc(&super::page::short(centre, 40))
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_text_is_escaped() {
        let svg = stacked_bars(
            "<script>",
            &["2026-12-01".into()],
            &[Series {
                name: "\"><script>alert(1)</script>".into(),
                class: "c0",
                counts: vec![3],
            }],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("data-count=\"3\""));
        let g = relationship_graph(
            "a&b",
            &[GraphNode {
                label: "<b>".into(),
                href: Some("/x?a=1&b=2".into()),
                edge: "uses".into(),
                inward: false,
            }],
        );
        assert!(g.contains("a&amp;b") && g.contains("&lt;b&gt;") && g.contains("a=1&amp;b=2"));
    }
}
