/**
 * Node's deprecation warnings are not the toolkit's to print: vega's dependencies load the
 * deprecated `punycode` module, and Deno's Node layer would print
 * "(node:PID) [DEP0040] DeprecationWarning ..." on stderr of every task that renders a figure.
 * Imported before vega, so that the flag is set when the module loads.
 * @module
 */
import process from "node:process";

(process as { noDeprecation?: boolean }).noDeprecation = true;
