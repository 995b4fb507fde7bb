export { quit as default } from "./node-action.js";
