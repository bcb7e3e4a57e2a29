#include "cli.hpp"
#include "pipeline_arguments.hpp"
#include "progress.hpp"

#include <sluice/config/loader.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace sluice::cli {
namespace {

std::atomic<int> signals_received{0};

extern "C" void on_stop_signal(int) {
    // First signal: graceful drain. Second: the user means it.
    if (signals_received.fetch_add(1) >= 1) {
        constexpr char message[] = "\nsluice: second signal, aborting without draining\n";
        (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
        _exit(exit_interrupted);
    }
}

void install_signal_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

int run_command(const arguments& args);

const bool registered = register_command(
        {"run", "run FILE [--set KEY=VALUE]... [--quiet]",
         "run a pipeline until its sources end (Ctrl-C drains and stops it)", run_command});

int run_command(const arguments& args) {
    const auto parsed = parse_pipeline_arguments(args, "run");
    if (!parsed) {
        return exit_invalid;
    }
    std::unique_ptr<pipeline> p;
    try {
        p = load_pipeline(parsed->file, parsed->load);
    } catch (const config_error& e) {
        print_diagnostics(e, parsed->json_diagnostics);
        return exit_invalid;
    }
    install_signal_handlers();

    progress_reporter progress(*p);
    std::mutex mutex;
    std::condition_variable wake;
    bool done = false;
    // One thread both forwards a stop signal to the pipeline and prints progress, so the
    // signal handler itself stays async-signal-safe (it only bumps a counter).
    std::thread watcher([&] {
        auto next_report = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        bool stop_forwarded = false;
        std::unique_lock lock(mutex);
        while (!done) {
            wake.wait_for(lock, std::chrono::milliseconds(50));
            if (!stop_forwarded && signals_received.load() > 0) {
                stop_forwarded = true;
                std::fputs("\nsluice: stopping: draining in-flight batches (Ctrl-C again to abort)\n", stderr);
                p->stop();
            }
            if (!parsed->quiet && std::chrono::steady_clock::now() >= next_report && !done) {
                next_report += std::chrono::seconds(1);
                std::fprintf(stderr, "%s\n", progress.line().c_str());
            }
        }
    });

    int code = exit_ok;
    run_summary summary;
    try {
        summary = p->run();
    } catch (const std::exception& e) {
        print_error(e.what());
        code = exit_failure;
    }
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    wake.notify_all();
    watcher.join();
    if (code == exit_ok && !parsed->quiet) {
        std::fputs(progress.summary(summary).c_str(), stderr);
    }
    return code;
}

}  // namespace sluice::cli
