"""TVM's own Python code driving microtvm's templates, servers and firmware.

Run with TVM's Python package on PYTHONPATH (see test/helpers/tvm.ts). Each subcommand prints one
JSON document on its last stdout line; the Node tests assert on it. Everything that can be checked
only from Python (TVM's exception classes) is checked here and reported as data.

  project-api <template-dir> <archive> <project-dir> <kind> <options-json>
  session <project-dir> <archive> <executor> <samples-dir>
  autotvm <template-dir> <archive> <options-json> <work-dir>
"""

import json
import os
import pathlib
import sys
import tarfile
import time

import numpy as np
import tvm
import tvm.micro
from tvm.micro import project as tvm_project
from tvm.micro.project_api import client, server

SAMPLES = ["yes", "no", "silence", "unknown"]

# TVM looks for standalone_crt beside libtvm_runtime.so only; the peer keeps it one level up and
# names it in $TVM_STANDALONE_CRT_DIR, which TVM itself does not read.
if os.environ.get("TVM_STANDALONE_CRT_DIR"):
    tvm.micro.build.STANDALONE_CRT_DIR = os.environ["TVM_STANDALONE_CRT_DIR"]


def raised(fn):
    """The class names (most derived first) of what fn() raises, and its text; None when it returns."""
    try:
        fn()
    except Exception as error:  # pylint: disable=broad-except
        text = str(error)
        if len(text) > 1200:
            text = text[:600] + " ... " + text[-600:]
        return {"classes": [c.__name__ for c in type(error).__mro__[:-2]], "text": text}
    return None


def project_api(template_dir, archive, project_dir, kind, options_json):
    options = json.loads(options_json)
    report = {}
    # The raw client: TVM launches the template's server as it launches its own.
    api = client.instantiate_from_dir(template_dir)
    info = api.server_info_query(tvm.__version__)
    report["template_info"] = {
        "is_template": info["is_template"],
        "platform_name": info["platform_name"],
        "model_library_format_path": info["model_library_format_path"],
        "option_names": [o["name"] for o in info["project_options"]],
        "option_keys": sorted({k for o in info["project_options"] for k in o}),
    }
    report["transport_on_template"] = raised(lambda: api.read_transport(1, 0.1))
    report["generate_missing_archive"] = raised(
        lambda: api.generate_project(
            model_library_format_path=str(pathlib.Path(project_dir).parent / "no-such-model.tar"),
            standalone_crt_dir=tvm.micro.get_standalone_crt_dir(),
            project_dir=str(pathlib.Path(project_dir).parent / "never-made"),
            options={},
        )
    )
    report["never_made_exists"] = (pathlib.Path(project_dir).parent / "never-made").exists()

    # TVM's facades: TemplateProject checks option names itself (ValueError), then generates.
    template = tvm_project.TemplateProject.from_directory(template_dir)
    report["unknown_option"] = raised(
        lambda: template.generate_project_from_mlf(archive, project_dir + "-x", {"no_such_option": 1})
    )
    report["not_a_generated_project"] = raised(
        lambda: tvm_project.GeneratedProject.from_directory(template_dir, {})
    )
    generated = template.generate_project_from_mlf(archive, project_dir, dict(options))
    ginfo = generated.info()
    report["generated_info"] = {
        "is_template": ginfo["is_template"],
        "model_library_format_path": ginfo["model_library_format_path"],
    }
    report["generate_again"] = raised(
        lambda: template.generate_project_from_mlf(archive, project_dir, dict(options))
    )
    report["not_a_template"] = raised(lambda: tvm_project.TemplateProject.from_directory(project_dir))
    generated.build()
    generated.flash()
    # TVM's ProjectAPIClient.shutdown() never closes its pipes, so this server would live as long
    # as this process; our servers keep a project's build lock until they exit. Close the pipes
    # (the server exits on EOF) as a TVM user must before opening the project again.
    generated._api_client.read_file.close()  # pylint: disable=protected-access
    generated._api_client.write_file.close()  # pylint: disable=protected-access

    # The generated project's own server, opened as TVM's tools open it later.
    again = tvm_project.GeneratedProject.from_directory(project_dir, dict(options))
    api2 = again._api_client  # pylint: disable=protected-access
    report["read_before_open"] = raised(lambda: api2.read_transport(1, 0.1))
    deadline = time.monotonic() + 20
    while True:
        try:
            timeouts = api2.open_transport(again.options)
            break
        except server.ServerError as error:
            # The first server may still be exiting.
            if "is busy" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    report["timeouts"] = timeouts
    if kind == "loopback":
        api2.write_transport(b"microtvm\x00\xff", 1.0)
        got = b""
        while len(got) < 10:
            got += api2.read_transport(10 - len(got), 1.0)["data"]
        report["echo"] = list(got)
        report["read_empty"] = raised(lambda: api2.read_transport(1, 0.2))
    api2.close_transport()
    report["read_after_close"] = raised(lambda: api2.read_transport(1, 0.1))
    report["bad_method"] = raised(lambda: api2._request_reply("no_such_method", {}))  # pylint: disable=protected-access
    return report


def sample_inputs(samples_dir):
    return {s: np.fromfile(f"{samples_dir}/{s}.bin", dtype="int8").reshape(1, 1960) for s in SAMPLES}


def session(project_dir, archive, executor, samples_dir):
    report = {"outputs": {}}
    inputs = sample_inputs(samples_dir)
    project = tvm.micro.GeneratedProject.from_directory(project_dir, options={})
    with tvm.micro.Session(project.transport()) as sess:
        if executor == "aot":
            aot = tvm.micro.create_local_aot_executor(sess)
            for name, data in inputs.items():
                aot.set_input("Reshape_1", data)
                aot.run()
                report["outputs"][name] = aot.get_output(0).numpy().tolist()
            report["input_names"] = [aot.get_input_name(i) for i in range(aot.get_num_inputs())]
            report["num_outputs"] = aot.get_num_outputs()
            evaluator = aot.module.time_evaluator("run", sess.device, number=3, repeat=4)
            result = evaluator()
            report["time_evaluator"] = {"results": list(result.results), "mean": result.mean}
        else:
            with tarfile.open(archive) as tf:
                member = next(m for m in tf.getnames() if m.endswith("graph/graph.json"))
                graph = tf.extractfile(member).read().decode()
            gex = tvm.micro.create_local_graph_executor(graph, sess.get_system_lib(), sess.device)
            for name, data in inputs.items():
                gex.set_input("Reshape_1", data)
                gex.run()
                report["outputs"][name] = gex.get_output(0).numpy().tolist()
            debug = tvm.micro.create_local_debug_executor(graph, sess.get_system_lib(), sess.device)
            debug.set_input("Reshape_1", inputs["yes"])
            # Per-operator timing through runtime.RPCTimeEvaluator on the device, as TVM's
            # debug executor measures it.
            per_op = debug.run_individual(number=2, repeat=2, min_repeat_ms=0)
            report["debug_per_op_sec"] = [list(times) for times in per_op]
            report["debug_op_names"] = [
                node["attrs"]["func_name"] for node in json.loads(graph)["nodes"] if node["op"] == "tvm_op"
            ]
            # The full debug run also fetches every node's output, parameters included.
            report["debug_full_run"] = raised(debug.run)
    return report


def autotvm(template_dir, archive, options_json, work_dir):
    """What AutoTVM does per candidate with tvm.micro.AutoTvmModuleLoader: TVM's
    compile_and_create_micro_session generates, builds and flashes a project from the template
    and opens a session; run_through_rpc then measures one operator of the system lib."""
    report = {}
    with open(archive, "rb") as f:
        mlf_bytes = f.read()
    rpc_module = tvm.micro.session.compile_and_create_micro_session(
        mlf_bytes, template_dir, options_json, work_dir, False
    )
    remote = tvm.rpc.client.RPCSession(rpc_module)
    dev = remote.device("c", 0)
    mod = remote.get_function("runtime.SystemLib")()
    random_fill = remote.get_function("tvm.contrib.random.random_fill")
    args = [tvm.nd.empty((1, 4), "float32", dev), tvm.nd.empty((1, 4), "float32", dev)]
    for arg in args:
        random_fill(arg)
    dev.sync()
    report["filled_distinct"] = len(set(args[0].numpy().view("uint32").ravel().tolist()))
    # The operator's own result, next to numpy's.
    x = np.random.RandomState(1).uniform(-4, 4, (1, 4)).astype("float32")
    args[0].copyfrom(x)
    mod.get_function("tvmgen_default_fused_nn_softmax")(args[0], args[1])
    report["softmax"] = args[1].numpy().tolist()
    report["softmax_numpy"] = (np.exp(x) / np.exp(x).sum()).tolist()
    for arg in args:
        random_fill(arg)
    for min_repeat_ms in (0, 40):
        f = mod.time_evaluator(
            "tvmgen_default_fused_nn_softmax",
            dev,
            number=1,
            repeat=3,
            min_repeat_ms=min_repeat_ms,
            limit_zero_time_iterations=100,
            cooldown_interval_ms=1,
            repeats_to_cooldown=1,
            cache_flush_bytes=0,
            f_preproc="",
        )
        start = time.monotonic()
        costs = f(*args).results
        report[f"min_repeat_ms_{min_repeat_ms}"] = {
            "results": list(costs),
            "wall_sec": time.monotonic() - start,
        }
    start = time.monotonic()
    report["unknown_function"] = raised(
        lambda: mod.time_evaluator("no_such_operator", dev, number=1, repeat=1)(*args)
    )
    report["unknown_function_sec"] = time.monotonic() - start
    # The session is still usable after the remote error.
    report["after_error"] = list(args[1].numpy().shape)
    return report


def main(argv):
    command = argv[1]
    if command == "project-api":
        result = project_api(*argv[2:7])
    elif command == "session":
        result = session(*argv[2:6])
    elif command == "autotvm":
        result = autotvm(*argv[2:6])
    else:
        raise SystemExit(f"unknown subcommand {command}")
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv)
