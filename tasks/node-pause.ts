export { pause as default } from "./node-action.js";
