//! `bench pipeline` (being built).

pub async fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("bench pipeline is not built yet")
}
