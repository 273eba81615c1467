//! Reading the XDP program's counters from their pins.

use std::path::Path;

use anyhow::{Context, Result};
use aya::maps::{Map, MapData, PerCpuArray};
use ha_common::{FRAME_COUNTS_MAP, FrameCounts};

/// The frame counts summed over all CPUs, read from `<pin_dir>/FRAME_COUNTS`.
pub fn read_frame_counts(pin_dir: &Path) -> Result<FrameCounts> {
    let path = pin_dir.join(FRAME_COUNTS_MAP);
    let data = MapData::from_pin(&path).with_context(|| {
        format!(
            "no pinned counters at {} (is the XDP program loaded?)",
            path.display()
        )
    })?;
    let map = Map::PerCpuArray(data);
    let array: PerCpuArray<_, FrameCounts> = PerCpuArray::try_from(map)?;
    let mut total = FrameCounts::default();
    for cpu in array.get(&0, 0)?.iter() {
        total.add(cpu);
    }
    Ok(total)
}
