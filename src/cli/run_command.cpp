#include "cli.hpp"
#include "pipeline_arguments.hpp"
#include "progress.hpp"

#include <sluice/config/loader.hpp>
#include <sluice/core/duration.hpp>
#if SLUICE_HAS_DASHBOARD
#    include <sluice/ops/dashboard.hpp>
#endif

#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

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

/// `--ui [ADDR]` and `--ui-linger DURATION`, which only `run` takes.
struct ui_arguments {
    bool requested = false;
    std::optional<listen_address> address;  ///< given with --ui
    std::chrono::nanoseconds linger{0};
};

/// Takes the --ui options out of `args`; prints the problem and returns nullopt on a bad value.
std::optional<ui_arguments> take_ui_arguments(arguments& args) {
    ui_arguments ui;
    arguments rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "--ui" || arg.rfind("--ui=", 0) == 0) {
            ui.requested = true;
            std::string text;
            if (arg != "--ui") {
                text = arg.substr(5);
            } else if (i + 1 < args.size() && parse_listen_address(args[i + 1])) {
                text = args[++i];  // ADDR is optional: only an address-looking word is taken
            }
            if (!text.empty()) {
                std::string why;
                ui.address = parse_listen_address(text, &why);
                if (!ui.address) {
                    print_error(fmt::format(
                            "--ui expects HOST:PORT such as 127.0.0.1:8080, found '{}' ({})",
                            text,
                            why));
                    return std::nullopt;
                }
            }
        } else if (arg == "--ui-linger" || arg.rfind("--ui-linger=", 0) == 0) {
            std::string text;
            if (arg == "--ui-linger") {
                if (i + 1 >= args.size()) {
                    print_error("--ui-linger needs a duration, e.g. --ui-linger 60s");
                    return std::nullopt;
                }
                text = args[++i];
            } else {
                text = arg.substr(12);
            }
            const auto linger = parse_duration(text);
            if (!linger) {
                print_error(fmt::format(
                        "--ui-linger expects a duration such as 60s or 5m, found '{}'", text));
                return std::nullopt;
            }
            ui.linger = *linger;
        } else {
            rest.push_back(arg);
        }
    }
    args = std::move(rest);
    return ui;
}

}  // namespace

int run_command(const arguments& args) {
    arguments rest = args;
    const auto ui = take_ui_arguments(rest);
    if (!ui) {
        return exit_invalid;
    }
    const auto parsed = parse_pipeline_arguments(rest, "run");
    if (!parsed) {
        return exit_invalid;
    }
    std::unique_ptr<pipeline> p;
    pipeline_settings settings;
    try {
        p = load_pipeline(parsed->file, parsed->load, settings);
    } catch (const config_error& e) {
        print_diagnostics(e, parsed->json_diagnostics);
        return exit_invalid;
    }
    // --ui ADDR wins over the file's `dashboard: {listen: ...}`; a bare --ui takes the file's
    // address if it has one.
    std::optional<listen_address> listen = settings.dashboard;
    if (ui->requested) {
        listen = ui->address ? ui->address : settings.dashboard.value_or(listen_address{});
    }
    if (ui->linger.count() > 0 && !listen) {
        print_error("--ui-linger needs --ui or a 'dashboard' key in the pipeline");
        return exit_invalid;
    }
#if SLUICE_HAS_DASHBOARD
    std::unique_ptr<dashboard_server> server;
    if (listen) {
        dashboard_server_options options;
        options.host = listen->host;
        options.port = listen->port;
        // For working on web/: serve the pages from there instead of the built-in copies.
        // NOLINTNEXTLINE(concurrency-mt-unsafe): races only with setenv; sluice has none
        if (const char* root = std::getenv("SLUICE_WEB_ROOT"); root != nullptr) {
            options.web_root = root;
        }
        server = std::make_unique<dashboard_server>(*p, options);
        try {
            server->start();
        } catch (const std::exception& e) {
            print_error(e.what());
            return exit_failure;
        }
        (void)std::fprintf(stderr,
                           "sluice: dashboard at %s (Prometheus metrics at %smetrics)\n",
                           server->url().c_str(),
                           server->url().c_str());
    }
#else
    if (listen) {
        print_error("this sluice was built without the dashboard (SLUICE_WITH_DASHBOARD=OFF)");
        return exit_invalid;
    }
#endif
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
                (void)std::fputs(
                        "\nsluice: stopping: draining in-flight batches (Ctrl-C again to abort)\n",
                        stderr);
                p->stop();
            }
            if (!parsed->quiet && std::chrono::steady_clock::now() >= next_report && !done) {
                next_report += std::chrono::seconds(1);
                (void)std::fprintf(stderr, "%s\n", progress.line().c_str());
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
#if SLUICE_HAS_DASHBOARD
    if (server) {
        server->mark_finished();
    }
#endif
    if (code == exit_ok && !parsed->quiet) {
        (void)std::fputs(progress.summary(summary).c_str(), stderr);
    }
#if SLUICE_HAS_DASHBOARD
    // Keep serving the final numbers (e.g. for a scrape or a test reading /metrics) unless the
    // user already asked to stop.
    if (server && ui->linger.count() > 0 && signals_received.load() == 0) {
        (void)std::fprintf(stderr,
                           "sluice: run ended; the dashboard stays up for %s (Ctrl-C to exit)\n",
                           format_duration(ui->linger).c_str());
        const auto until = std::chrono::steady_clock::now() + ui->linger;
        while (signals_received.load() == 0 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    if (server) {
        server->stop();
    }
#endif
    return code;
}

void register_run_command() {
    register_command(
            {"run",
             "run FILE [--set KEY=VALUE]... [--quiet] [--ui [ADDR]] [--ui-linger DURATION]",
             "run a pipeline until its sources end (Ctrl-C drains and stops it); --ui serves the "
             "dashboard and /metrics (default 127.0.0.1:8080), --ui-linger keeps serving that "
             "long after the run",
             run_command});
}

}  // namespace sluice::cli
