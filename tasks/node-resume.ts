export { resume as default } from "./node-action.js";
