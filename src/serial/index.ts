// Serial ports: finding boards' ports without udev, the debug probes that reach them, and choosing
// a board's port. Node built-ins only.
export {
  listSerialPorts,
  selectBoardPort,
  describePort,
  PortSelectionError,
  type SerialPortInfo,
  type DiscoveryOptions,
} from "./discovery.js";
export { PROBES, probeFor, type Probe } from "./probes.js";
