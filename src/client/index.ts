// The client side of the Project API: find and launch a server, call it, stop it.
export {
  ConnectionShutdownError,
  MalformedReplyError,
  MismatchedIdError,
  NotATemplateProjectError,
  ProjectApiClientError,
  ProjectApiServerNotFoundError,
  ProjectOptionError,
  RequestTimeoutError,
  ServerExitedError,
  ServerLaunchError,
  TemplateProjectError,
  UnsupportedProtocolVersionError,
  describeExit,
  type ServerExit,
} from "./errors.js";
export {
  DOCUMENTED_SCRIPT_NAME,
  LAUNCH_SCRIPT_NAME,
  NODE_SERVER_NAMES,
  PYTHON_SERVER_NAME,
  SERVER_READ_FD,
  SERVER_WRITE_FD,
  ServerProcess,
  findServer,
  launchServer,
  type LaunchOptions,
  type ServerCommand,
  type StopOptions,
} from "./launch.js";
export {
  DEFAULT_REQUEST_TIMEOUTS,
  DEFAULT_TVM_VERSION,
  ProjectApiClient,
  ProjectTransport,
  type ClientOptions,
  type GenerateProjectParams,
  type RequestTimeouts,
} from "./client.js";
export {
  checkOptionNames,
  checkRequiredOptions,
  convertOptionValue,
  optionAppliesTo,
  parseOptionAssignments,
  withDefaults,
  type ProjectOptions,
} from "./options.js";
export {
  GeneratedProject,
  TemplateProject,
  defaultStandaloneCrtDir,
  generateProjectFromMlf,
  type ProjectClientOptions,
} from "./project.js";
