//! Section 5: a wide-area link. The emulator adds 40 ms before each answer and paces its
//! writes at 20 Mbit/s, gzip on as gateways do; 20,000 tasks. Three sides, alternated:
//! `terraform plan` with this provider (pages of 1000), the same plan in the Go provider's
//! pattern (no `limit` sent, so the API's 50 a page; Go's HTTP client asks for gzip too), and
//! the floor: a bare keep-alive marker loop of pages of 1000 with gzip, which is the emulator's
//! own time for the pages it must send. Bytes on the wire are the compressed bodies.

use crate::measure::{median, Emulator};
use crate::paging::marker_loop;
use crate::report::{self, Report, Table};
use crate::terraform::{Terraform, PROVIDER_CONFIG};

/// The emulator flags of the link.
pub const LINK: [&str; 4] = ["--latency-ms", "40", "--bandwidth-kbps", "20000"];

pub fn run(
    report: &mut Report,
    tf: &Terraform,
    emulator: &Emulator,
    runs: usize,
) -> Result<(), String> {
    let n = emulator.tasks;
    let ours = tf.dir("wan-ours", PROVIDER_CONFIG)?;
    let go = tf.dir(
        "wan-go-pattern",
        &PROVIDER_CONFIG.replace(
            "data \"csms_rotation_tasks\" \"all\" {}",
            "data \"csms_rotation_tasks\" \"all\" {\n  page_size = 50\n}",
        ),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let env = emulator.provider_env();
    let (mut a, mut g, mut floor) = (vec![], vec![], vec![]);
    let mut bytes_1000 = 0;
    for _ in 0..runs {
        a.push(tf.plan(&ours, &env, n, None)?);
        let (seconds, bytes) = runtime.block_on(marker_loop(emulator, 1000, true))?;
        floor.push(seconds);
        bytes_1000 = bytes;
        g.push(tf.plan(&go, &env, n, None)?);
    }
    let bytes_50 = runtime.block_on(marker_loop(emulator, 50, true))?.1;
    let (a, g, floor) = (median(&a), median(&g), median(&floor));
    let kib = |b: u64| format!("{:.0} KiB", b as f64 / 1024.0);
    let mut table = Table::new(&["side", "plan wall (median)", "pages", "bytes on the wire"]);
    table.row(vec![
        "this provider (pages of 1000, gzip)".into(),
        report::ms(a),
        n.div_ceil(1000).to_string(),
        kib(bytes_1000),
    ]);
    table.row(vec![
        "Go provider's pattern (pages of 50, gzip)".into(),
        report::ms(g),
        n.div_ceil(50).to_string(),
        kib(bytes_50),
    ]);
    table.row(vec![
        "floor: bare marker loop, pages of 1000, gzip (no Terraform)".into(),
        report::ms(floor),
        n.div_ceil(1000).to_string(),
        kib(bytes_1000),
    ]);
    report.target(
        &format!("WAN {n} tasks: plan wall <= 1.5 x floor + 1 s"),
        format!("{} (floor {})", report::ms(a), report::ms(floor)),
        "<= 1.5x + 1 s",
        a <= 1.5 * floor + 1.0,
    );
    report.target(
        &format!("WAN {n} tasks: Go pattern / ours"),
        report::ratio(g / a),
        ">= 6x",
        g / a >= 6.0,
    );
    report.section(
        &format!("5. A wide-area link: {n} tasks, 40 ms, 20 Mbit/s"),
        &format!(
            "Median of {runs} alternated runs. The emulator answers every request 40 ms late and \
             paces its writes at 20 Mbit/s per connection (`--latency-ms 40 --bandwidth-kbps \
             20000`), compressing when asked. The plans are full `terraform plan`s (Terraform's \
             own cost of taking in {n} tasks is in both); the floor is a bare keep-alive loop \
             without Terraform. Bytes are the compressed bodies the loops received."
        ),
        table,
    );
    Ok(())
}
