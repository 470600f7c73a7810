//! The job DAG's geometry for the run page's inline SVG: a column per depth (the longest
//! path from a root), nodes ordered within a column to follow their parents, and edges as
//! cubic curves from a node's right side to its dependant's left side. Pure arithmetic,
//! so the server sends finished SVG and the browser needs no layout library.

/// Width of a job box in SVG units (px at 100% zoom).
pub const NODE_WIDTH: u32 = 188;
/// Height of a job box.
pub const NODE_HEIGHT: u32 = 48;
const COLUMN_GAP: u32 = 56;
const ROW_GAP: u32 = 14;
const PADDING: u32 = 8;

/// Where one node goes. `index` is its position in the slice given to [`layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePos {
    pub index: usize,
    /// Longest path from a root (0 for jobs that need nothing).
    pub depth: usize,
    /// Position within its column, from the top.
    pub row: usize,
    pub x: u32,
    pub y: u32,
}

/// An edge from the needed job to the job that needs it, as an SVG path (`d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgePath {
    pub from: usize,
    pub to: usize,
    pub d: String,
}

/// The whole drawing; `width`/`height` make the SVG's `viewBox`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DagLayout {
    /// In the same order as the input.
    pub nodes: Vec<NodePos>,
    pub edges: Vec<EdgePath>,
    pub width: u32,
    pub height: u32,
}

/// Lays out a DAG given, for each node, the positions of the nodes it needs. Needs that
/// are out of range or point at the node itself are ignored (the store's data is trusted
/// but a broken row must not take the page down); a cycle cannot make it loop forever.
pub fn layout(needs: &[Vec<usize>]) -> DagLayout {
    let n = needs.len();
    if n == 0 {
        return DagLayout::default();
    }
    let parents: Vec<Vec<usize>> = needs
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let mut ps: Vec<usize> = ns.iter().copied().filter(|&p| p < n && p != i).collect();
            ps.sort_unstable();
            ps.dedup();
            ps
        })
        .collect();
    let depth = depths(&parents);

    let columns = depth.iter().copied().max().unwrap_or(0) + 1;
    let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, &d) in depth.iter().enumerate() {
        by_column[d].push(i);
    }
    // Order each column by the mean row of its parents (one barycentre sweep): children
    // line up with what they need, which removes most crossings in real pipelines.
    let mut row = vec![0usize; n];
    for column in &mut by_column {
        let key = |i: usize| -> (u64, usize) {
            let placed: Vec<usize> = parents[i]
                .iter()
                .filter(|&&p| depth[p] < depth[i])
                .map(|&p| row[p])
                .collect();
            if placed.is_empty() {
                return (0, i);
            }
            // Scaled by 1000 so the mean keeps its fraction in an integer sort key.
            let sum: usize = placed.iter().sum();
            ((sum as u64 * 1000) / placed.len() as u64, i)
        };
        column.sort_by_key(|&i| key(i));
        for (r, &i) in column.iter().enumerate() {
            row[i] = r;
        }
    }

    let tallest = by_column.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let pitch = NODE_HEIGHT + ROW_GAP;
    let height = PADDING * 2 + tallest * pitch - ROW_GAP;
    let width = PADDING * 2 + columns as u32 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP;
    let nodes: Vec<NodePos> = (0..n)
        .map(|i| {
            let column_len = by_column[depth[i]].len() as u32;
            // Shorter columns are centred against the tallest one.
            let offset = (tallest - column_len) * pitch / 2;
            NodePos {
                index: i,
                depth: depth[i],
                row: row[i],
                x: PADDING + depth[i] as u32 * (NODE_WIDTH + COLUMN_GAP),
                y: PADDING + offset + row[i] as u32 * pitch,
            }
        })
        .collect();

    let mut edges = Vec::new();
    for (to, ps) in parents.iter().enumerate() {
        for &from in ps {
            edges.push(EdgePath {
                from,
                to,
                d: curve(&nodes[from], &nodes[to]),
            });
        }
    }
    DagLayout {
        nodes,
        edges,
        width,
        height,
    }
}

/// Longest path from a root, by relaxation: one pass settles a topologically ordered
/// input (the store keeps jobs in plan order); at most `n` passes bound a cyclic one.
fn depths(parents: &[Vec<usize>]) -> Vec<usize> {
    let n = parents.len();
    let mut depth = vec![0usize; n];
    for _ in 0..n {
        let mut changed = false;
        for (i, ps) in parents.iter().enumerate() {
            let d = ps
                .iter()
                .map(|&p| depth[p] + 1)
                .max()
                .unwrap_or(0)
                .min(n - 1);
            if d > depth[i] {
                depth[i] = d;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// A cubic curve from the right middle of `a` to the left middle of `b`, with control
/// points half-way across so edges leave and enter horizontally.
fn curve(a: &NodePos, b: &NodePos) -> String {
    let (x1, y1) = (a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2);
    let (x2, y2) = (b.x, b.y + NODE_HEIGHT / 2);
    // A back edge (only possible with a cycle) still gets a visible, finite curve.
    let bend = x2.abs_diff(x1).max(COLUMN_GAP) / 2;
    format!(
        "M{x1} {y1} C{} {y1}, {} {y2}, {x2} {y2}",
        x1 + bend,
        x2.saturating_sub(bend)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(l: &DagLayout) -> Vec<usize> {
        l.nodes.iter().map(|n| n.depth).collect()
    }

    #[test]
    fn empty_is_empty() {
        let l = layout(&[]);
        assert!(l.nodes.is_empty() && l.edges.is_empty());
    }

    #[test]
    fn chain_goes_left_to_right() {
        let l = layout(&[vec![], vec![0], vec![1]]);
        assert_eq!(depth_of(&l), [0, 1, 2]);
        assert!(l.nodes[0].x < l.nodes[1].x && l.nodes[1].x < l.nodes[2].x);
        assert_eq!(l.nodes[0].y, l.nodes[2].y);
        assert_eq!(l.edges.len(), 2);
        assert_eq!(l.height, NODE_HEIGHT + 2 * PADDING);
        assert_eq!(l.width, 3 * NODE_WIDTH + 2 * COLUMN_GAP + 2 * PADDING);
    }

    #[test]
    fn diamond_uses_longest_path() {
        // lint → (test, build) → deploy, and deploy also needs lint directly.
        let l = layout(&[vec![], vec![0], vec![0], vec![1, 2, 0]]);
        assert_eq!(depth_of(&l), [0, 1, 1, 2]);
        assert_eq!(l.nodes[1].row, 0);
        assert_eq!(l.nodes[2].row, 1);
        // The single nodes of columns 0 and 2 are centred against the two of column 1.
        assert_eq!(l.nodes[0].y, l.nodes[3].y);
        assert!(l.nodes[1].y < l.nodes[0].y && l.nodes[0].y < l.nodes[2].y);
        assert_eq!(l.edges.len(), 5);
        let e = &l.edges[0];
        assert!(e.d.starts_with('M') && e.d.contains(" C"), "{}", e.d);
    }

    #[test]
    fn wide_fan_out_stacks_one_column() {
        let mut needs = vec![vec![]];
        needs.extend((0..20).map(|_| vec![0]));
        needs.push((1..=20).collect());
        let l = layout(&needs);
        let rows: Vec<usize> = l.nodes[1..=20].iter().map(|n| n.row).collect();
        assert_eq!(rows, (0..20).collect::<Vec<_>>());
        assert_eq!(l.nodes[21].depth, 2);
        assert_eq!(
            l.height,
            2 * PADDING + 20 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
        );
        assert_eq!(l.edges.len(), 40);
        // No two nodes overlap.
        let mut seen = std::collections::HashSet::new();
        assert!(l.nodes.iter().all(|n| seen.insert((n.x, n.y))));
    }

    #[test]
    fn children_follow_their_parents_rows() {
        // b's child is listed first but should sit below a's child.
        let l = layout(&[vec![], vec![], vec![1], vec![0]]);
        assert_eq!(l.nodes[3].row, 0);
        assert_eq!(l.nodes[2].row, 1);
    }

    #[test]
    fn bad_needs_do_not_panic() {
        let l = layout(&[vec![7, 0], vec![0, 99, usize::MAX], vec![2]]);
        assert_eq!(depth_of(&l), [0, 1, 0]);
        assert_eq!(l.edges.len(), 1);
        // A cycle terminates and stays finite.
        let l = layout(&[vec![1], vec![0]]);
        assert_eq!(l.nodes.len(), 2);
        assert!(l.nodes.iter().all(|n| n.depth <= 1));
    }
}
