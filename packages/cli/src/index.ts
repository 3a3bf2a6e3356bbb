export { main, buildProgram } from './main.js';
export { EXIT, CliError } from './exit-codes.js';
