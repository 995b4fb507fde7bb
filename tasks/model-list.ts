export { list as default } from "./model.js";
