export { activate as default } from "./model.js";
