fn main() -> std::process::ExitCode {
    iambatch::commands::main()
}
