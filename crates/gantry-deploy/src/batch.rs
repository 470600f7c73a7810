//! Splitting an environment's hosts into the batches of a rolling deploy. Pure.

use gantry_workspace::Batch;

/// Host indexes in batches of `batch` (a count or a percentage of `hosts`, at least 1),
/// in order.
pub fn batches(hosts: usize, batch: Batch) -> Vec<Vec<usize>> {
    let size = batch.size(hosts);
    (0..hosts)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentages_make_batches_in_order() {
        assert_eq!(batches(4, Batch::Count(2)), [vec![0, 1], vec![2, 3]]);
        assert_eq!(
            batches(5, Batch::Count(2)),
            [vec![0, 1], vec![2, 3], vec![4]]
        );
        assert_eq!(batches(3, Batch::Count(10)), [vec![0, 1, 2]]);
        assert_eq!(
            batches(4, Batch::Percent(25)),
            [vec![0], vec![1], vec![2], vec![3]]
        );
        assert_eq!(batches(5, Batch::Percent(50)), [vec![0, 1, 2], vec![3, 4]]);
        assert!(batches(0, Batch::Count(1)).is_empty());
    }
}
