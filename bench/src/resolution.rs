//! `bench resolution` (being built).

pub async fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("bench resolution is not built yet")
}
